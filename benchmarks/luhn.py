"""The Luhn check digit, for the benchmarks' generated card numbers (imported by their inline Python)."""


def luhn(body: str) -> str:
    """`body` followed by its Luhn check digit."""
    total = 0
    for position, character in enumerate(reversed(body)):
        digit = int(character)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)
