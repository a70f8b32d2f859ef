"""Lookup commands: topic, compare, search, fact, list, sources, about, help.

They read the content pack and nothing else; the caller does not change their answer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from .. import __version__
from ..cards import as_of_text
from ..citations import note_sources, sources_of
from ..matcher import Candidate
from ..normalize import normalize, plural, shorten
from ..reply import Card, CardKind, Field, Table
from ..schema import Comparison, Topic
from .base import Answer, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError, command_names

SECTION_PREVIEW = 160
SEARCH_RESULTS = 5
MAX_WORDS = 12
SEPARATORS = frozenset({"vs", "v", "versus", "and", "with", "to", "or"})
CLOSE_NAME = 80.0  # a topic name this close to what was typed is suggested before passages


# --------------------------------------------------------------------------- lookups


def _suggestions(ctx: Context, candidates: list[Candidate], command: str) -> tuple[str, ...]:
    return tuple(f"{ctx.prefix} {command} {c.item.id}" for c in candidates[:3])


def find_topic(ctx: Context, query: str) -> Topic:
    match = ctx.catalog.topic_names.lookup(query)
    if match.item is not None:
        return match.item
    close = [c for c in match.suggestions if c.score >= CLOSE_NAME]
    # Not a topic, but perhaps the pack speaks of it: offer the passages that do.
    passages = tuple(ctx.hint(h.document.command) for h in ctx.catalog.search_index.search(query, limit=3))
    hints = _suggestions(ctx, close, "topic") + passages + _suggestions(ctx, list(match.suggestions), "topic")
    hints = tuple(dict.fromkeys(hints)) or (ctx.hint("list"),)
    said = " Passages that mention it:" if passages else ""
    raise UserError(f"No topic matches {ctx.quote(query)}.{said}", hints[:5], "Topic not found")


def default_comparison(ctx: Context) -> Comparison:
    comparison = ctx.catalog.default_comparison
    if comparison is None:
        raise UserError("This content pack has no comparisons.", (ctx.hint("list"),), "Nothing to compare")
    return comparison


# --------------------------------------------------------------------------- help, about, list


def cmd_help(ctx: Context, args: Args) -> Answer:
    wanted = args.get("command", "").strip()
    if wanted:
        spec = _find_command(ctx, wanted)
        fields = [Field("Usage", ctx.hint(spec.usage))]
        fields += [Field(p.name + ("" if p.required else " (optional)"), p.description) for p in spec.params]
        if spec.aliases:
            fields.append(Field("Also", ", ".join(spec.aliases)))
        if spec.examples:
            fields.append(Field("Examples", "\n".join(ctx.example(e) for e in spec.examples)))
        card = ctx.cards.card(f"Help: {spec.name}", body=spec.summary, fields=fields, kind=CardKind.HELP)
        return Answer((card,), f"help {spec.name}")
    fields = [Field(ctx.hint(s.usage), s.summary) for s in ctx.registry]
    body = (
        f"{ctx.catalog.info.name}: look things up in team chat. Replies are private until you share them; "
        f"add `public` at the end to post in the channel."
    )
    card = ctx.cards.card("How to use this bot", body=body, fields=fields, kind=CardKind.HELP)
    return Answer((card,), "help")


def _find_command(ctx: Context, name: str) -> CommandSpec:
    match = command_names(ctx.registry).lookup(name)
    if match.item is not None:
        return match.item
    hints = tuple(ctx.hint(f"help {c.item.name}") for c in match.suggestions[:3]) or (ctx.hint("help"),)
    raise UserError(f"There is no command {ctx.quote(name)}.", hints, "Unknown command")


def cmd_about(ctx: Context, args: Args) -> Answer:
    cat = ctx.catalog
    info = cat.info
    sections = sum(len(t.sections) for t in cat.topics.values())
    aspects = sum(len(c.aspects) for c in cat.comparisons.values())
    fields = [
        Field("Bot version", __version__, inline=True),
        Field("Content pack", f"{info.name} ({info.id}) v{info.version}", inline=True),
        *((Field("Content as of", as_of_text(cat), inline=True),) if as_of_text(cat) else ()),
        Field(
            "Contents",
            ", ".join(plural(n, what) for n, what in ((len(cat.topics), "topic"), (sections, "section"),
                     (len(cat.comparisons), "comparison"), (aspects, "aspect"), (len(cat.facts), "fact"),
                     (len(cat.sources), "source"))),
        ),
    ]
    card = ctx.cards.card("About cytobot", body=info.description, fields=fields, kind=CardKind.ABOUT)
    return Answer((card,), "about")


def cmd_list(ctx: Context, args: Args) -> Answer:
    cat = ctx.catalog
    topics = "\n".join(f"{t.id}: {t.title}" for t in cat.topics.values()) or "none"
    fields = [Field("Topics", topics)]
    for c in cat.comparisons.values():
        fields.append(Field(f"Compare: {c.title}", ", ".join(a.id for a in c.aspects)))
    fields.append(Field("Facts", f"{plural(len(cat.facts), 'fact')}: {ctx.hint('fact')} or {ctx.hint('fact today')}"))
    body = f"Open one with {ctx.hint('topic <id>')} or {ctx.hint('compare <aspect>')}."
    card = ctx.cards.card(f"What's in {cat.info.name}", body=body, fields=fields, kind=CardKind.LIST)
    return Answer((card,), "list")


# --------------------------------------------------------------------------- topic


def cmd_topic(ctx: Context, args: Args) -> Answer:
    query = args.get("query", "").strip()
    if not query:
        raise UserError("Which topic? Give a name or alias.", (ctx.example("topic {topic}"), ctx.hint("list")), "Topic needed")
    topic, section = _resolve_topic_and_section(ctx, query)
    if section is None:
        return Answer((_topic_card(ctx, topic),), f"topic {topic.id}")
    s = next(s for s in topic.sections if s.id == section)
    fields = ctx.cards.note_fields(s.notes)
    card = ctx.cards.card(
        f"{topic.title}: {s.title}",
        body=s.body,
        fields=fields,
        kind=CardKind.TOPIC,
        sources=sources_of(s, topic),
    )
    return Answer((card,), f"topic {topic.id} {s.id}")


def _resolve_topic_and_section(ctx: Context, query: str) -> tuple[Topic, str | None]:
    words = query.split()
    names = ctx.catalog.topic_names
    exact = names.exact(query)
    if exact is not None:
        return exact, None
    # "crs symptoms": the longest leading words that name a topic, the rest a section of it.
    for cut in range(min(len(words), MAX_WORDS) - 1, 0, -1):
        topic = names.exact(" ".join(words[:cut]))
        if topic is not None:
            rest = " ".join(words[cut:])
            match = ctx.catalog.section_names(topic).lookup(rest)
            if match.item is not None:
                return topic, match.item.id
            hints = tuple(ctx.hint(f"topic {topic.id} {c.item.id}") for c in match.suggestions[:3])
            hints = hints or tuple(ctx.hint(f"topic {topic.id} {s.id}") for s in topic.sections[:3])
            raise UserError(f"{topic.title} has no section {ctx.quote(rest)}.", hints, "Section not found")
    return find_topic(ctx, query), None


def _topic_card(ctx: Context, topic: Topic) -> Card:
    fields = [Field(s.title, shorten(s.body, SECTION_PREVIEW)) for s in topic.sections]
    subtitle = ("Also: " + ", ".join(topic.aliases[:6])) if topic.aliases else ""
    if topic.sections:
        fields.append(Field("More", f"{ctx.hint(f'topic {topic.id} <section>')}, e.g. {ctx.hint(f'topic {topic.id} {topic.sections[0].id}')}"))
    shown = (topic, *(sid for s in topic.sections for sid in s.sources))  # the previews draw on the sections' sources
    return ctx.cards.card(topic.title, body=topic.summary, subtitle=subtitle, fields=fields, kind=CardKind.TOPIC, sources=shown)


# --------------------------------------------------------------------------- compare


def parse_compare(ctx: Context, text: str) -> Args:
    """Free text to left/right/aspect: "severity", "crs storm", "crs vs cytokine storm severity"."""
    words = [w for w in text.split() if w.casefold() not in SEPARATORS][: MAX_WORDS + 1]
    if not words:
        return {}
    cat = ctx.catalog
    joined = " ".join(words)
    comparison = cat.comparison_names.exact(joined)
    if comparison is not None:
        return {"left": comparison.left, "right": comparison.right}
    default = cat.default_comparison
    if default is not None and cat.aspect_names(default).exact(joined) is not None:
        return {"aspect": joined}
    n = len(words)
    if n <= MAX_WORDS:
        # Leading words naming a comparison, the rest an aspect.
        for cut in range(n - 1, 0, -1):
            comparison = cat.comparison_names.exact(" ".join(words[:cut]))
            if comparison is not None:
                return {"left": comparison.left, "right": comparison.right, "aspect": " ".join(words[cut:])}
        # Two topics, then an optional aspect; longest names first.
        for i in range(n - 1, 0, -1):
            left = cat.topic_names.exact(" ".join(words[:i]))
            if left is None:
                continue
            for j in range(n, i, -1):
                right = cat.topic_names.exact(" ".join(words[i:j]))
                if right is not None:
                    args = {"left": left.id, "right": right.id}
                    if j < n:
                        args["aspect"] = " ".join(words[j:])
                    return args
    return {"aspect": joined}


def cmd_compare(ctx: Context, args: Args) -> Answer:
    left_q, right_q, aspect_q = (args.get(k, "").strip() for k in ("left", "right", "aspect"))
    comparison, swapped = _resolve_pair(ctx, left_q, right_q)
    left, right = ctx.catalog.topics[comparison.left], ctx.catalog.topics[comparison.right]
    if swapped:
        left, right = right, left
    if not aspect_q:
        return Answer((_comparison_card(ctx, comparison, swapped),), f"compare {left.id} {right.id}")
    match = ctx.catalog.aspect_names(comparison).lookup(aspect_q)
    if match.item is None:
        hints = tuple(ctx.hint(f"compare {c.item.id}") for c in match.suggestions[:3])
        hints = hints or (ctx.hint(f"compare {left.id} {right.id}"), ctx.hint("list"))
        aspects = ", ".join(a.id for a in comparison.aspects)
        raise UserError(f"The comparison has no aspect {ctx.quote(aspect_q)}. Its aspects: {aspects}.", hints,
                        "Aspect not found")
    a = match.item
    cells = (a.right, a.left) if swapped else (a.left, a.right)
    card = ctx.cards.card(
        f"{a.title}: {left.title} vs {right.title}",
        fields=ctx.cards.note_fields(a.notes),
        table=Table(("Aspect", left.title, right.title), ((a.title, *cells),)),
        kind=CardKind.COMPARISON,
        sources=sources_of(a, comparison),
    )
    return Answer((card,), f"compare {left.id} {right.id} {a.id}")


def _resolve_pair(ctx: Context, left_q: str, right_q: str) -> tuple[Comparison, bool]:
    if not left_q and not right_q:
        return default_comparison(ctx), False
    if bool(left_q) != bool(right_q):
        given = left_q or right_q
        comparison = ctx.catalog.comparison_names.exact(given)
        if comparison is not None:
            return comparison, False
        raise UserError(
            f"Compare needs two topics; I only got {ctx.quote(given)}.",
            (ctx.example("compare {pair}") if ctx.catalog.comparisons else ctx.hint("list"),),
            "Two topics needed",
        )
    left, right = find_topic(ctx, left_q), find_topic(ctx, right_q)
    comparison = ctx.catalog.comparison_between(left.id, right.id)
    if comparison is None:
        pairs = tuple(ctx.hint(f"compare {c.left} {c.right}") for c in list(ctx.catalog.comparisons.values())[:3])
        raise UserError(f"There is no comparison of {left.title} with {right.title} in this pack.", pairs, "No such comparison")
    return comparison, comparison.left != left.id


def _comparison_card(ctx: Context, comparison: Comparison, swapped: bool) -> Card:
    left, right = ctx.catalog.topics[comparison.left], ctx.catalog.topics[comparison.right]
    if swapped:
        left, right = right, left
    rows = tuple((a.title, a.right, a.left) if swapped else (a.title, a.left, a.right) for a in comparison.aspects)
    noted = [a.id for a in comparison.aspects if a.notes]
    fields = []
    if noted:
        fields.append(Field("Cited notes", f"See {ctx.hint('compare <aspect>')} for notes on: {', '.join(noted)}"))
    return ctx.cards.card(
        comparison.title,
        body=comparison.summary or "",
        fields=fields,
        table=Table(("Aspect", left.title, right.title), rows),
        kind=CardKind.COMPARISON,
        sources=(comparison, *(sid for a in comparison.aspects for sid in a.sources)),
    )


# --------------------------------------------------------------------------- search


def cmd_search(ctx: Context, args: Args) -> Answer:
    words = args.get("words", "").strip()
    if not normalize(words):
        raise UserError("What should I search for? Give one or more words.", (ctx.example("search {word}"),), "Search words needed")
    hits = ctx.catalog.search_index.search(words, limit=SEARCH_RESULTS)
    if not hits:
        raise UserError(f"Nothing in the pack mentions {ctx.quote(words)}.", (ctx.hint("list"), ctx.hint("help search")), "No results")
    fields = [Field(f"{h.document.title}", f"{h.snippet}\n→ {ctx.hint(h.document.command)}") for h in hits]
    card = ctx.cards.card(
        f"Search: {shorten(words, 80)}", body=("The one result." if len(hits) == 1 else f"Top {len(hits)} results, best first."), fields=fields, kind=CardKind.SEARCH,
        sources=[h.document for h in hits],
    )
    return Answer((card,), f"search {words}")


# --------------------------------------------------------------------------- facts and sources


def cmd_fact(ctx: Context, args: Args) -> Answer:
    which = args.get("which", "").strip()
    facts = list(ctx.catalog.facts.values())
    if not facts:
        raise UserError("This content pack has no facts.", (ctx.hint("list"),), "No facts")
    key = which.casefold()
    if key == "today":
        fact = fact_of_the_day(ctx, ctx.clock())
    elif key in ("", "random"):
        fact = ctx.rng.choice(facts)
    else:
        match = ctx.catalog.fact_names.lookup(which)
        if match.item is None:
            hints = _suggestions(ctx, list(match.suggestions), "fact") or (ctx.hint("fact random"),)
            raise UserError(f"No fact has the id {ctx.quote(which)}.", hints, "Fact not found")
        fact = match.item
    # One title for every way of reaching a fact, so a shared card is the card that was shown.
    title = "Did you know?"
    fields = [*ctx.cards.note_fields(fact.notes), Field("Tags", ", ".join(fact.tags), inline=True), Field("Fact id", fact.id, inline=True)]
    card = ctx.cards.card(title, body=fact.text, fields=fields, kind=CardKind.FACT, sources=(fact,))
    return Answer((card,), f"fact {fact.id}")


def fact_of_the_day(ctx: Context, now: datetime):
    """The same fact all day (UTC date), different across days, stable across restarts and replicas."""
    facts = list(ctx.catalog.facts.values())
    day = now.astimezone(timezone.utc).date().isoformat()
    digest = hashlib.sha256(f"{ctx.catalog.info.id}:{day}".encode()).digest()
    return facts[int.from_bytes(digest[:8], "big") % len(facts)]


def cmd_sources(ctx: Context, args: Args) -> Answer:
    wanted = args.get("id", "").strip()
    cat = ctx.catalog
    if not wanted:
        lines = [f"{s.id}: {s.title}" for s in cat.sources.values()]
        card = ctx.cards.card(
            "Sources",
            body="\n".join(lines),
            fields=[Field("Details", ctx.hint("sources <id>"))],
            kind=CardKind.SOURCES,
            sources=cat.sources,
        )
        return Answer((card,), "sources")
    match = cat.source_names.lookup(wanted)
    if match.item is None:
        # A topic or comparison id: show what it cites.
        cited = _cited_by(ctx, wanted)
        if cited is not None:
            return cited
        hints = _suggestions(ctx, list(match.suggestions), "sources") or (ctx.hint("sources"),)
        raise UserError(f"No source has the id {ctx.quote(wanted)}.", hints, "Source not found")
    s = match.item
    fields = [Field("Citation", s.citation)]
    if s.url:
        fields.append(Field("Link", s.url))
    if s.caveat:
        fields.append(Field("Caveat", s.caveat))
    card = ctx.cards.card(s.title, fields=fields, kind=CardKind.SOURCES, sources=(s.id,))
    return Answer((card,), f"sources {s.id}")


def _cited_by(ctx: Context, wanted: str) -> Answer | None:
    cat = ctx.catalog
    topic = cat.topic_names.exact(wanted)
    ids: list[str]
    if topic is not None:
        ids = [*topic.sources, *(x for s in topic.sections for x in (*s.sources, *note_sources(s.notes)))]
        title = topic.title
    else:
        comparison = cat.comparison_names.exact(wanted)
        if comparison is None:
            return None
        ids = [*comparison.sources, *(x for a in comparison.aspects for x in (*a.sources, *note_sources(a.notes)))]
        title = comparison.title
    ids = list(dict.fromkeys(ids))
    body = "\n".join(f"{i}: {cat.sources[i].citation}" for i in ids)
    card = ctx.cards.card(f"Sources cited by {title}", body=body, kind=CardKind.SOURCES, sources=ids)
    return Answer((card,), f"sources {wanted}")


# --------------------------------------------------------------------------- the family


LOOKUPS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "topic",
        "Look up a topic, or one section of it.",
        "topic <name> [section]",
        cmd_topic,
        (ParamSpec("query", "Topic name or alias, optionally followed by a section", ParamKind.TOPIC, True),),
        aliases=("define",),
        examples=("topic {topic}", "topic {section}", "define {topic}"),
    ),
    CommandSpec(
        "compare",
        "Compare two topics side by side: every aspect, or one.",
        "compare [left right] [aspect]",
        cmd_compare,
        (
            ParamSpec("left", "First topic (default: the pack's main comparison)", ParamKind.TOPIC),
            ParamSpec("right", "Second topic", ParamKind.TOPIC),
            ParamSpec("aspect", "One aspect, e.g. severity (default: all)", ParamKind.ASPECT),
        ),
        aliases=("vs", "diff"),
        examples=("compare {aspect}", "compare {pair}", "compare {pair} {aspect}"),
        parse=parse_compare,
    ),
    CommandSpec(
        "search",
        "Search every topic, section, comparison and fact.",
        "search <words>",
        cmd_search,
        (ParamSpec("words", "Words to look for", ParamKind.TEXT, True),),
        aliases=("find",),
        examples=("search {word}",),
    ),
    CommandSpec(
        "fact",
        "A short fact: random, today's, or by id.",
        "fact [id|today|random]",
        cmd_fact,
        (ParamSpec("which", "A fact id, `today` or `random` (default)", ParamKind.FACT),),
        examples=("fact", "fact today"),
    ),
    CommandSpec("list", "List the topics, comparisons and facts in the pack.", "list", cmd_list, aliases=("topics",)),
    CommandSpec(
        "sources",
        "The sources the pack cites, or one source in full.",
        "sources [id]",
        cmd_sources,
        (ParamSpec("id", "A source id, or a topic to see what it cites", ParamKind.SOURCE),),
        aliases=("refs", "references"),
        examples=("sources", "sources {source}"),
    ),
    CommandSpec("about", "Bot version, content pack and what it holds.", "about", cmd_about, aliases=("version",)),
    CommandSpec(
        "help",
        "How to use the bot, or one command in detail.",
        "help [command]",
        cmd_help,
        (ParamSpec("command", "A command name", ParamKind.COMMAND),),
        examples=("help", "help compare"),
    ),
)


