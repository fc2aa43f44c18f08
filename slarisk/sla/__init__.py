"""SLA policies, business-hours calendars and clocks."""
