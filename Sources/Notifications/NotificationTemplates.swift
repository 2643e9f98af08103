/// The language of a webhook's `data.text`.
public enum NotificationLanguage: String, Sendable, CaseIterable {
    case persian = "fa"
    case english = "en"
}

/// Per event type, the text an operator's SMS gateway would send, in Persian and English. `{name}` is replaced
/// by `data.name` of the event (integers in Persian digits in Persian), so a receiver can forward `data.text`
/// as it is. An unknown type gets a neutral sentence rather than nothing.
public enum NotificationTemplates {
    /// Type → (Persian, English). Every placeholder names a `data` field the event type carries.
    static let texts: [String: (persian: String, english: String)] = [
        "points.earned": (
            "{points} امتیاز به حساب شما افزوده شد. مانده: {balance} امتیاز.",
            "You earned {points} points. Balance: {balance} points."
        ),
        "points.redeemed": (
            "{points} امتیاز از حساب شما کسر شد. مانده: {balance} امتیاز.",
            "You redeemed {points} points. Balance: {balance} points."
        ),
        "points.expiring": (
            "{points} امتیاز شما تا {days} روز دیگر منقضی می‌شود.",
            "{points} of your points expire in {days} days."
        ),
        "points.expired": (
            "{points} امتیاز شما منقضی شد.",
            "{points} of your points expired."
        ),
        "tier.changed": (
            "سطح عضویت شما به {tier} تغییر کرد.",
            "Your membership level is now {tier}."
        ),
        "offer.granted": (
            "پیشنهاد ویژه برای شما: {offer}.",
            "A special offer for you: {offer}."
        ),
        "bonus.awarded": (
            "هدیه {reason}: {points} امتیاز به حساب شما افزوده شد.",
            "Bonus ({reason}): you received {points} points."
        ),
        "card.blocked": (
            "کارت {card} مسدود شد.",
            "Card {card} has been blocked."
        ),
        "card.replaced": (
            "کارت جدید شما فعال شد و مانده به آن منتقل شد.",
            "Your new card is active and your balance moved to it."
        ),
        "giftcard.loaded": (
            "کارت هدیه شما به مبلغ {amount} شارژ شد.",
            "Your gift card was loaded with {amount}."
        ),
        "member.birthday": (
            "تولدتان مبارک! باشگاه مشتریان بهترین‌ها را برای سال تازه‌تان آرزو می‌کند.",
            "Happy birthday! Your loyalty club wishes you all the best for the year ahead."
        ),
        "points.reversed": (
            "تراکنش لغو شده از حساب شما برگشت خورد. مانده: {balance} امتیاز.",
            "A cancelled transaction was taken back. Balance: {balance} points."
        ),
        "points.refunded": (
            "امتیاز خرید بازگشتی شما اصلاح شد. مانده: {balance} امتیاز.",
            "Your points were adjusted for a refund. Balance: {balance} points."
        ),
    ]

    /// The event types with a template of their own (the contract's list).
    public static var eventTypes: [String] { texts.keys.sorted() }

    /// The text for `event` in `language`.
    public static func render(_ event: NotificationEvent, language: NotificationLanguage) -> String {
        guard let pair = texts[event.type] else {
            return language == .persian ? "رویداد جدید در باشگاه مشتریان." : "New activity in your loyalty account."
        }
        return fill(language == .persian ? pair.persian : pair.english, event, language)
    }

    /// Replaces each `{name}` with the event's value (`card` is the masked card); an unknown name stays as written,
    /// which the template tests catch.
    static func fill(_ template: String, _ event: NotificationEvent, _ language: NotificationLanguage) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            output += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            if name == "card" {
                output += event.card
            } else if let value = event.value(name) {
                switch value {
                case .integer(let number): output += digits(number, language)
                case .string(let text): output += text
                }
            } else {
                output += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    /// A number in the language's digits (Persian: ۰–۹).
    static func digits(_ number: Int64, _ language: NotificationLanguage) -> String {
        let western = String(number)
        guard language == .persian else { return western }
        let persian: [Character] = ["۰", "۱", "۲", "۳", "۴", "۵", "۶", "۷", "۸", "۹"]
        return String(western.map { $0.wholeNumberValue.map { persian[$0] } ?? $0 })
    }
}
