"""Best-practice defaults for :class:`~ava_olo_constructs.waf.WebApplicationFirewall`.

The library's default (:data:`RATE_LIMITS`) knows nothing about an application's paths: one per-IP flood
ceiling on every path, 2,000 requests per 5 minutes (the limit AWS has long used as the example and console
default for rate-based rules). Path-specific limits are a team's policy and are passed as ``rate_limits``.
AVA OLO's are :data:`SEED_RATE_LIMITS`, derived from the seed as follows.

Seed "Security Best Practices -> Rate Limiting"::

    limiter = Limiter(app, key_func=get_remote_address, default_limits=["1000 per day", "100 per hour"])
    @app.route('/api/farmers') @limiter.limit("10 per minute")

WAF rate-based rules count requests per client IP over an evaluation window of 60, 120, 300 or 600 seconds,
with a limit of at least 10. The mapping:

* ``10 per minute`` on ``/api/farmers`` is expressible exactly: limit 10 over 60 s.
* ``100 per hour`` is not (the longest window is 10 minutes). A client that stays within 100 per hour can
  still send all 100 within one 10-minute window, so the tightest WAF rule that never blocks a request the
  application would allow is 100 per 600 s. WAF therefore stops floods early at the edge. The application's
  limiter stays in charge of the exact hourly limit.
* ``1000 per day`` cannot be expressed in WAF at all; it is the application's alone.

The ceiling is scoped to ``/api/`` because dashboard pages load many assets per view, and several farmers
behind one office NAT share an IP. Set ``path_prefix`` to None in the configuration to apply it everywhere.
"""

from __future__ import annotations

#: WAF's accepted evaluation windows (seconds) and its minimum rate limit.
EVALUATION_WINDOWS = (60, 120, 300, 600)
MIN_RATE_LIMIT = 10
MAX_RATE_LIMIT = 2_000_000_000

#: (name, path prefix or None, limit, window seconds). The library's default: a flood ceiling on every path.
RATE_LIMITS = (("per-ip-ceiling", None, 2000, 300),)

#: AVA OLO's limits from the seed (see the module doc); the app passes them as its ``waf.rate_limits``.
SEED_RATE_LIMITS = (
    ("api-farmers-per-minute", "/api/farmers", 10, 60),
    ("api-hourly-ceiling", "/api/", 100, 600),
)

#: AWS managed rule groups: OWASP-style common rules, known bad inputs (e.g. Log4Shell), SQL injection (the
#: seed's "Input Validation" at the edge; the application still validates), and Amazon's IP reputation list.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)

LOG_RETENTION_DAYS = 90
