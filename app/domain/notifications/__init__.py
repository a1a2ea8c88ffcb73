"""Notification e-mails: the person a report is assigned to hears of it, and of comments on it while it is theirs."""
