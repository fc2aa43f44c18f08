"""slarisk: predictive SLA risk and capacity planning for support desks and contact centres."""

__version__ = "0.1.0"
