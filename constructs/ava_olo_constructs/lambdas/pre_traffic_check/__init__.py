"""The pre-traffic check ECS runs at POST_TEST_TRAFFIC_SHIFT (see ``index``)."""
