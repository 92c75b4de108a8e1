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
DEREGISTRATION_DELAY = Duration.seconds(30)
MAX_DEREGISTRATION_DELAY_SECONDS = 30

# --- Rolling deployment ("Phase 4: New task starts alongside old task") ----------------------------------------
#: Never go below the desired count during a deploy: the old task keeps serving until the new one is healthy.
MIN_HEALTHY_PERCENT = 100
#: Room for a full set of new tasks beside the old ones.
MAX_HEALTHY_PERCENT = 200
#: "If task keeps restarting, rollback": the circuit breaker does it without a human.
CIRCUIT_BREAKER_ROLLBACK = True

# --- Logs ("Monitoring Commands": aws logs tail /ecs/monitoring-dashboards) --------------------------------------
LOG_RETENTION_DAYS = 30
#: Application logs outlive the stack: they are what an incident review reads.
LOG_REMOVAL_POLICY = RemovalPolicy.RETAIN

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
