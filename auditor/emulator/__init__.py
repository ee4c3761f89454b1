"""Local stand-ins for the two real services: an Okta org emulator and moto's Cognito.

Used by the tests and by ``auditor demo``; never by a real audit.
"""
