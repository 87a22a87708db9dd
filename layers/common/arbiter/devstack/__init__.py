"""Developer tooling (local stack, template reader, event builder). Never imported by a Lambda handler."""
