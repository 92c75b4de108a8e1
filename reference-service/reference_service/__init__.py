"""AVA OLO reference service: the application side of the platform's contract (README, "Service contract")."""
