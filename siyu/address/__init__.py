"""The shopper's address book (收货地址): at most 20 addresses, exactly one default
while the book is not empty; orders keep a snapshot of the one they ship to."""
