"""The auditor: keeps every tenant's Okta -> Rapticore (AWS Cognito) OIDC SSO correct.

Architecture, one core and its seams:

    collect/  (okta SDK, boto3)  ->  snapshot.TenantSnapshot  ->  rules engine
    -> results  ->  report writers / notifiers;  cli and scheduler wire them together.
"""

__version__ = "0.1.0"
