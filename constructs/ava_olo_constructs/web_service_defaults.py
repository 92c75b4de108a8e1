"""Best-practice defaults for :class:`~ava_olo_constructs.web_service.FargateWebService`.

Each value cites the seed (``shared/seed/ava-olo-best-practices.md``) section it comes from. Kept apart from
the wiring (the AWS Solutions Constructs ``*-defaults`` pattern) so that a reviewer can read every default on
one page and a caller can override any of them through the props.
"""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk.aws_elasticloadbalancingv2 import SslPolicy

# --- Task size -------------------------------------------------------------------------------------------------
#: "Issue 3: Memory/CPU Issues": "Current: 512 CPU, 1024 Memory".
CPU = 512
MEMORY_MIB = 1024
#: "Consider: 1024 CPU, 2048 Memory for high load" (the high-load profile of the configuration).
HIGH_LOAD_CPU = 1024
HIGH_LOAD_MEMORY_MIB = 2048
#: Two tasks so that one AZ or one task failing never takes the service down.
DESIRED_COUNT = 2
CONTAINER_PORT = 8080
CONTAINER_NAME = "web"
#: Seconds between ECS's SIGTERM and SIGKILL ("Phase 6": the old task drains and stops). ECS's own default, set
#: explicitly because the application's graceful shutdown is sized against it (the reference service's gunicorn
#: ``graceful_timeout`` is 25 s, so in-flight requests finish before the kill). Fargate allows up to 120 s.
STOP_TIMEOUT = Duration.seconds(30)

# --- Health checks ("ECS Deployment Timeline", Phase 5) ----------------------------------------------------------
#: "Checks /health endpoint every 30 seconds. Requires 2 consecutive successes before switching traffic."
HEALTH_CHECK_PATH = "/health"
HEALTH_CHECK_INTERVAL = Duration.seconds(30)
HEALTHY_THRESHOLD = 2
#: Explicit instead of ELB's defaults: 3 failures x 30 s = 90 s before a target is taken out of service.
UNHEALTHY_THRESHOLD = 3
#: Must be shorter than the interval; /health also checks the database, which may take a moment.
HEALTH_CHECK_TIMEOUT = Duration.seconds(10)
HEALTHY_HTTP_CODES = "200"
#: Time a new task gets to start (image pull + app boot) before failed health checks count against it.
HEALTH_CHECK_GRACE_PERIOD = Duration.seconds(60)
#: ELB's default is 300 s, a large share of the seed's "5-10 minute" health phase; 30 s lets in-flight requests
#: finish (farmers' dashboard requests are short) while cutting the traffic switch to under a minute.
#: A default, not a limit: ELB accepts 0-3600 s (the rule pack's ``max_deregistration_delay_seconds`` holds the
#: seed's 30 s as policy).
DEREGISTRATION_DELAY = Duration.seconds(30)
#: ELB's range for a target group's ``deregistration_delay.timeout_seconds``.
DEREGISTRATION_DELAY_LIMITS_SECONDS = (0, 3600)

# --- Rolling deployment ("Phase 4: New task starts alongside old task") ----------------------------------------
#: Never go below the desired count during a deploy: the old task keeps serving until the new one is healthy.
#: A default, not a limit: ECS accepts 0-100 (the rule pack's ``min_healthy_percent`` holds 100 as policy).
MIN_HEALTHY_PERCENT = 100
#: Room for a full set of new tasks beside the old ones. ECS accepts 100-200, above the minimum.
MAX_HEALTHY_PERCENT = 200
#: ECS's ranges for a replica service's ``minimumHealthyPercent`` and ``maximumPercent``.
MIN_HEALTHY_PERCENT_LIMITS = (0, 100)
MAX_HEALTHY_PERCENT_LIMITS = (100, 200)
#: "If task keeps restarting, rollback": the circuit breaker does it without a human.
CIRCUIT_BREAKER_ROLLBACK = True

# --- ECS deployment strategy (README "Deployment strategy") ----------------------------------------------------
#: The strategies ECS offers (``DeploymentConfiguration.Strategy``), by their configuration names.
STRATEGIES = ("canary", "blue_green", "linear", "rolling")
#: Production-tier default: a canary. A new revision first gets only test traffic (the pre-traffic check), then
#: CANARY_PERCENT of production traffic; a deployment alarm sends the traffic back to the old revision, which
#: keeps running until the final bake ends. Other tiers default to rolling (cheaper: no second fleet).
PRODUCTION_STRATEGY = "canary"
OTHER_STRATEGY = "rolling"
#: Share of production requests the canary gets; ECS's own default and the bound of the worst-case exposure.
CANARY_PERCENT = 5.0
#: Minutes the canary serves CANARY_PERCENT before the full shift. Long enough for several 1-minute alarm
#: decisions; 10 is ECS's default.
CANARY_BAKE_MINUTES = 10
#: Minutes after the full shift during which alarms still roll back by moving traffic to the old revision
#: (it keeps running until then). ECS's default for blue/green, linear and canary is 15.
BAKE_MINUTES = 15
#: LINEAR: share moved per step and minutes between steps (ECS's defaults).
LINEAR_PERCENT = 10.0
LINEAR_STEP_MINUTES = 6
#: The blue/green family's test listener (separate port): only the NAT gateways' addresses may reach it.
TEST_LISTENER_PORT = 8443
#: The pre-traffic check's Lambda timeout and log retention.
PRE_TRAFFIC_CHECK_TIMEOUT = Duration.seconds(60)

# --- Logs ("Monitoring Commands": aws logs tail /ecs/monitoring-dashboards) --------------------------------------
LOG_RETENTION_DAYS = 30
#: Application logs outlive the stack: they are what an incident review reads. RETAIN_ON_UPDATE_OR_DELETE
#: (CloudFormation ``RetainExceptOnCreate``): a first create that fails removes the fixed-name ``/ecs/<service>``
#: group again, so the retry does not fail on "already exists".
LOG_REMOVAL_POLICY = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE

# --- Load balancer ----------------------------------------------------------------------------------------------
LISTENER_PORT = 80
HTTPS_PORT = 443
#: TLS 1.3 and 1.2 with forward-secret ciphers only ("ELBSecurityPolicy-TLS13-1-2-2021-06").
SSL_POLICY = SslPolicy.RECOMMENDED_TLS
IDLE_TIMEOUT = Duration.seconds(60)
#: Access logs (S3) are kept 90 days: long enough for an incident review, short enough to stay cheap.
ACCESS_LOG_EXPIRATION_DAYS = 90

# --- Connection pool ("Performance Best Practices" -> "Connection Pooling") -------------------------------------
DB_POOL_SIZE = 20
DB_MAX_OVERFLOW = 30
DB_POOL_RECYCLE_SECONDS = 300

#: Environment variable names that look like secrets; they must be passed as ECS secrets, never as plain
#: environment ("Security Best Practices": never hard-code credentials; a task definition's environment is
#: readable by anyone with ecs:DescribeTaskDefinition).
SECRET_LIKE_NAME_FRAGMENTS = ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "ENCRYPTION_KEY")
