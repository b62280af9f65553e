"""One router per resource under /api/v1 (stores, customers, analytics, predictions, health).

The dashboard router (``routes/dashboard.py``) serves the page and its assets outside /api/v1.
"""
