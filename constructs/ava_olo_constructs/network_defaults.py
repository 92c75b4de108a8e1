"""Best-practice defaults for :class:`~ava_olo_constructs.network.Network` (kept apart from the wiring)."""

from aws_cdk import RemovalPolicy

#: Address space of the VPC. A /16 leaves room for every subnet tier in up to six AZs.
CIDR = "10.0.0.0/16"
#: Two AZs: the minimum an ALB accepts; production configures three.
AZ_COUNT = 2
#: One NAT gateway is the cost-conscious default; production configures one per AZ so losing an AZ does not cut
#: the tasks' egress (image pulls, Secrets Manager, CloudWatch Logs).
NAT_GATEWAYS = 1
#: Subnet sizes: public holds only the ALB and NAT gateways; private holds the Fargate tasks (one IP each, so
#: it is the largest); isolated holds the database and has no route to the internet.
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_MASK = 20
ISOLATED_SUBNET_MASK = 24
#: VPC flow logs are kept for 90 days, long enough to investigate the seed's "Issue 2: Database Connection
#: Errors" (security group / routing problems) after the fact.
FLOW_LOG_RETENTION_DAYS = 90
#: Flow logs are evidence: keep them when the stack is deleted.
FLOW_LOG_REMOVAL_POLICY = RemovalPolicy.RETAIN
