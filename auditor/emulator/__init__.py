"""Local stand-ins for the two real services: an Okta org emulator and moto's Cognito.

Used by the tests and by ``auditor demo``; never by a real audit, so their dependencies
(moto's server, PyJWT, cryptography) come with the ``demo`` extra, not the service
install. The Okta emulator: ``okta/`` (host, plumbing, management, oauth, org state).
"""
