"""Stateful resources keep their logical IDs: a rename would make CloudFormation replace them (new, empty log
group or bucket; issue 3 adds the database here). Changing this list is a deliberate, reviewed act."""

from __future__ import annotations

STATEFUL = {
    "network": {"AWS::Logs::LogGroup": {"NetworkFlowLogGroup4F8CEEEF"}},
    "service": {
        "AWS::Logs::LogGroup": {"WebServiceLogGroup6F16EA2A"},
        "AWS::S3::Bucket": {"WebServiceAccessLogsBucketD697C01A"},
    },
}


def test_stateful_resources_keep_their_logical_ids(each_environment):
    for purpose, by_type in STATEFUL.items():
        template = each_environment.template(getattr(each_environment.stacks, purpose))
        for resource_type, logical_ids in by_type.items():
            assert set(template.find_resources(resource_type)) == logical_ids, (purpose, resource_type)


def test_production_stateful_resources_are_retained_on_delete_and_replace(production):
    for purpose, by_type in STATEFUL.items():
        template = production.template(getattr(production.stacks, purpose))
        for resource_type in by_type:
            for logical_id, resource in template.find_resources(resource_type).items():
                assert resource.get("DeletionPolicy") == "Retain", logical_id
                assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
