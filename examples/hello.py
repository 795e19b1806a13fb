"""A sample Lambda handler: greets the name in the event."""


def handler(event, context):  # type: ignore[no-untyped-def]
    """Return a greeting and the request id, as any Python Lambda handler would."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": f"Hello, {name}!", "request_id": context.aws_request_id}
