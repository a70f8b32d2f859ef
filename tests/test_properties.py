"""Random input to every command returns a reply and never raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine, ParamKind
from bot.reply import Reply

# Text that looks like chat input: any unicode, control characters, mention syntax, emoji, long runs.
chat_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.from_regex(r"(<[@#!][A-Z0-9|a-z]{0,12}>|@everyone|/crs|public|vs| )*", fullmatch=True),
    st.lists(st.sampled_from(["crs", "storm", "il-6", "vs", "severity", "public", "🧪", "\x00", "<!here>", "today"]), max_size=15).map(" ".join),
    st.integers(min_value=400, max_value=6000).map(lambda n: "x" * n),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(reply: Reply) -> None:
    assert isinstance(reply, Reply) and reply.cards
    json.dumps(reply.to_dict())  # always serialisable
    for card in reply.cards:
        assert card.footer.disclaimer


@SETTINGS
@given(line=chat_text)
def test_execute_never_raises(engine: Engine, line: str) -> None:
    check(engine.execute(line))


@SETTINGS
@given(command=st.sampled_from(["topic", "define", "compare", "search", "fact", "list", "sources", "about", "help", "vs"]), rest=chat_text)
def test_every_command_with_random_arguments(engine: Engine, command: str, rest: str) -> None:
    check(engine.execute(f"{command} {rest}"))
    check(engine.execute(f"/crs {command} {rest} public"))


@SETTINGS
@given(data=st.data())
def test_typed_options_never_raise(engine: Engine, data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(engine.commands))
    args = {p.name: data.draw(chat_text) for p in spec.params if data.draw(st.booleans())}
    check(engine.invoke(spec.name, args, public=data.draw(st.booleans())))
    check(engine.invoke(data.draw(chat_text), {}))


@SETTINGS
@given(kind=st.sampled_from(list(ParamKind)), prefix=chat_text)
def test_autocomplete_never_raises(engine: Engine, kind: ParamKind, prefix: str) -> None:
    choices = engine.complete(kind, prefix, context={"left": prefix, "right": "crs"})
    assert len(choices) <= 25
    assert all(1 <= len(c.value) <= 100 and len(c.label) <= 100 for c in choices)
