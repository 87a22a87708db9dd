"""template.yaml's operational settings (docs/decisions.md D14): what an operator relies on without reading code."""

from arbiter.devstack.template import load_template

RESOURCES = load_template()["Resources"]


def _of_type(kind: str) -> dict[str, dict]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


def test_every_alarm_notifies_the_alarm_topic():
    alarms = _of_type("AWS::CloudWatch::Alarm")
    assert {
        "UnhandledErrorsAlarm",
        "DynamoDBBusyAlarm",
        "PacingFailuresAlarm",
        "AggregatorFailuresAlarm",
        "OffersExpirySweepFailuresAlarm",
        "OffersExpirySweepErrorsAlarm",
        "OffersExpirySweepBehindAlarm",
    } <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["Properties"].get("AlarmActions") == [{"Ref": "AlarmTopic"}], name


def test_the_tables_outlive_the_stack():
    tables = _of_type("AWS::DynamoDB::Table")
    assert set(tables) == {"CampaignsTable", "ImpressionsTable", "InteractionsTable"}
    for name, table in tables.items():
        assert (table.get("DeletionPolicy"), table.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
        assert table["Properties"]["DeletionProtectionEnabled"] is True, name
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


def test_logs_expire_and_the_api_is_throttled_and_access_logged():
    template = load_template()
    assert template["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogs"}
    for group in _of_type("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    api = RESOURCES["ArbiterApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
