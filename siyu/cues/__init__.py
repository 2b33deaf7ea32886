"""Urgency cues (促单提示): the store's settings (``models.py``), the pure rules of
what may be shown (``rules.py``) and the read of real purchases, stock and the end
times of the plays running on an item (``service.py``)."""
