"""Read models built from the event stream (the order search table arrives with the search issue)."""
