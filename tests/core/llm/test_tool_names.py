from echelon.servers.core.llm import Message, ModelRequest, ModelResponse, ToolCall, ToolDefinition
from echelon.servers.core.llm._tool_names import ToolNames, from_wire, to_wire


def test_valid_names_are_kept_and_others_get_a_distinct_valid_name() -> None:
    names = ToolNames(["run_query", "files.read", "files/read", "files_read", "x" * 70])
    assert names.wire("run_query") == "run_query" and names.wire("files_read") == "files_read"
    assert names.wire("files.read") == "files_read_2" and names.wire("files/read") == "files_read_3"
    assert names.wire("x" * 70) == "x" * 64
    for name in ("files.read", "files/read", "x" * 70):
        assert names.original(names.wire(name)) == name


def test_a_request_goes_out_with_wire_names_and_the_calls_come_back_with_real_names() -> None:
    tool = ToolDefinition(name="github/search", description="Search", parameters={"type": "object"})
    earlier = ToolCall(id="c1", name="github/search", arguments={"q": "mcp"})
    request = ModelRequest(
        messages=[Message(role="assistant", tool_calls=[earlier]), Message(role="tool", tool_call_id="c1")],
        tools=[tool],
    )
    sent, names = to_wire(request)
    assert [t.name for t in sent.tools] == ["github_search"]
    assert sent.messages[0].tool_calls[0].name == "github_search"
    assert request.tools[0].name == "github/search"  # the caller's request is not changed
    response = ModelResponse(text="", tool_calls=[ToolCall(id="c2", name="github_search", arguments={})])
    assert [c.name for c in from_wire(response, names).tool_calls] == ["github/search"]


def test_a_request_with_only_valid_names_is_sent_as_it_is() -> None:
    request = ModelRequest(messages=[], tools=[ToolDefinition(name="add", description="", parameters={})])
    assert to_wire(request)[0] is request
