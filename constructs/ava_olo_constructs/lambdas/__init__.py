"""Lambda function sources shipped with the library (standard library only)."""
