"""Outgoing webhooks: subscriptions (subscriptions.py), fan-out and delivery (delivery.py), request
signing (signing.py) and the reads the pages need (queries.py)."""
