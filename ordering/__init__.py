"""The order service: event-sourced orders behind Entur's Order API."""
