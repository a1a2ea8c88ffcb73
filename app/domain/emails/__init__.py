"""E-mails Lantern owes someone (invitations, notifications, password resets), kept until they are sent."""
