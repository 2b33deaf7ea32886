"""The operator dashboard: headline numbers and trends for the console."""
