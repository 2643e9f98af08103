print("loyalty-switch")
