"""The Flask HTTP facade (the app factory is in ``ordering.http.factory``)."""
