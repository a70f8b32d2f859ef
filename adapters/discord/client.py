"""The Discord client: one /crs command group generated from the core registry.

Nothing here knows a command by name. Each `CommandSpec` in `engine.commands` becomes a
subcommand of the group, each `ParamSpec` a typed option (with autocomplete where the core can
complete it, fixed choices for a CHOICE), plus a `public` option. A command with typed forms
built from the pack (`CommandSpec.variants`, e.g. one per grading scale) becomes a subcommand
group with one subcommand per form. Handlers only translate: options in, `engine.invoke`,
rendered reply out. The share button is handled by its custom_id prefix, so a click works on
any replica and after a restart.
"""

from __future__ import annotations

import inspect
import keyword
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Optional

import discord
import yarl
from discord import app_commands

from adapters.inflight import INFLIGHT
from bot.engine import CommandSpec, Engine, ParamKind, ParamSpec
from bot.request import Caller, Origin, Request

from .render import (
    AUTOCOMPLETE_CHOICES_MAX,
    CHOICE_NAME_MAX,
    CHOICE_VALUE_MAX,
    COMMAND_DESCRIPTION_MAX,
    COMMAND_OPTIONS_MAX,
    SHARE_PREFIX,
    SUBCOMMANDS_MAX,
    DiscordMessage,
    render,
    shorten,
)

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "crs"
PUBLIC_OPTION = "public"
PUBLIC_DESCRIPTION = "Post the answer in the channel for everyone (default: only you see it)"
# Kinds the core can complete cheaply; TEXT (free search words) has nothing to offer.
COMPLETABLE = frozenset({ParamKind.TOPIC, ParamKind.COMPARISON, ParamKind.ASPECT, ParamKind.COMMAND, ParamKind.FACT,
                         ParamKind.SOURCE, ParamKind.ZONE})
SORRY = "Sorry, something went wrong on my side while answering that. It has been logged; please try again."
MANAGERS = "members with the Manage Channels permission in this channel"


def caller_from(source: discord.Interaction | discord.Message) -> Caller:
    """Who is asking, from an interaction (slash command, button) or a message (mention, DM).

    For an interaction, Manage Channels is resolved by Discord for this member in this channel,
    at the time of the interaction (not the command's default_permissions, which admins can
    change). For a message it is read from the member's roles in the cached channel; without a
    cached guild it is False (questions never need it)."""
    if isinstance(source, discord.Message):
        channel = source.channel
        is_direct = isinstance(channel, discord.DMChannel)
        guild_id = source.guild.id if source.guild is not None else getattr(channel, "guild_id", None)
        user, channel_id = source.author, channel.id
        manage = False
        if isinstance(user, discord.Member) and hasattr(channel, "permissions_for"):
            try:
                manage = bool(channel.permissions_for(user).manage_channels)
            except Exception:  # an uncached channel cannot resolve permissions: not allowed
                manage = False
    else:
        is_direct = source.guild_id is None
        guild_id, user, channel_id = source.guild_id, source.user, source.channel_id
        permissions = source.permissions
        # Administrator grants every permission, whatever else the resolved set carries
        # (for a message, permissions_for already expands it).
        manage = bool(permissions.manage_channels or permissions.administrator)
    return Caller(
        platform="discord",
        workspace=str(guild_id or ""),
        channel=str(channel_id or ""),
        user_id=str(user.id),
        display_name=user.display_name,
        is_direct=is_direct,
        # In a DM there is nobody else to ask: the user manages their own DM channel.
        may_manage=is_direct or manage,
        managers=MANAGERS,
    )


def point_discord_py_at(api_url: str | None = None, gateway_url: str | None = None) -> None:
    """Send discord.py's REST calls to `api_url` (including /api/v10) and its gateway to `gateway_url`.

    PROCESS-WIDE: discord.py keeps both in class attributes (`discord.http.Route.BASE`,
    `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`), so this affects every client in the
    process. Used for tests against a loopback fake and for proxies (DISCORD_API_URL,
    DISCORD_GATEWAY_URL).
    """
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


# --- command generation -----------------------------------------------------------------------
def _python_name(name: str, taken: set[str]) -> str:
    """An identifier for an option name (the Discord name is kept through a rename)."""
    ident = re.sub(r"\W", "_", name) or "option"
    if ident[0].isdigit() or keyword.iskeyword(ident) or ident in ("interaction", "self"):
        ident = "opt_" + ident
    while ident in taken:
        ident += "_"
    taken.add(ident)
    return ident


def _choices(engine: Engine, kind: ParamKind, current: str, context: dict[str, str] | None) -> list[app_commands.Choice[str]]:
    out: list[app_commands.Choice[str]] = []
    for choice in engine.complete(kind, current or "", limit=AUTOCOMPLETE_CHOICES_MAX, context=context):
        name, value = shorten(choice.label, CHOICE_NAME_MAX), choice.value[:CHOICE_VALUE_MAX]
        if name and value:
            out.append(app_commands.Choice(name=name, value=value))
    return out[:AUTOCOMPLETE_CHOICES_MAX]


def _autocomplete(engine: Engine, params: tuple[ParamSpec, ...], param: ParamSpec) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    kind = param.kind
    others = [p.name for p in params if p.name != param.name]

    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # What is already typed in the other options (e.g. left/right for an aspect) narrows the choices.
        namespace = interaction.namespace
        context = {n: str(v) for n in others if (v := getattr(namespace, n, None))} or None
        try:
            return _choices(engine, kind, current, context)
        except Exception:  # an unanswered autocomplete shows the user an error; answer empty instead
            log.exception("autocomplete failed for %s (%d characters typed)", kind, len(current or ""))
            return []

    return autocomplete


def _fixed_choices(param: ParamSpec) -> list[app_commands.Choice[str]]:
    """A CHOICE parameter's accepted values as Discord choices (Discord shows at most 25)."""
    labels = param.choice_labels if len(param.choice_labels) == len(param.choices) else param.choices
    return [
        app_commands.Choice(name=shorten(label, CHOICE_NAME_MAX) or value[:CHOICE_NAME_MAX], value=value[:CHOICE_VALUE_MAX])
        for value, label in zip(param.choices, labels)
    ][:AUTOCOMPLETE_CHOICES_MAX]


def build_subcommand(adapter: "CytobotClient", spec: CommandSpec, parent: app_commands.Group, *,
                     name: str | None = None, summary: str | None = None,
                     params: tuple[ParamSpec, ...] | None = None, fixed: dict[str, str] | None = None) -> app_commands.Command:
    """One subcommand from one CommandSpec (or one of its variants): typed options from its
    ParamSpecs, plus `public`. `fixed` arguments ride along with every call (a variant's scale).

    discord.py reads options from the callback's signature, so the callback gets an explicit
    `__signature__` (and the attributes its decorators would set) instead of a hand-written list.
    """
    engine = adapter.engine
    params = spec.params if params is None else params
    name = name or spec.name
    fixed = dict(fixed or {})
    taken: set[str] = set()
    by_python: dict[str, str] = {}  # python identifier -> ParamSpec name
    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    descriptions: dict[str, str] = {}
    renames: dict[str, str] = {}
    completions: dict[str, Callable[..., Any]] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    shown = [p for p in params if p.name != PUBLIC_OPTION][: COMMAND_OPTIONS_MAX - 1]
    for param in sorted(shown, key=lambda p: not p.required):  # Discord wants required options first
        ident = _python_name(param.name, taken)
        by_python[ident] = param.name
        if param.required:
            parameters.append(inspect.Parameter(ident, inspect.Parameter.KEYWORD_ONLY, annotation=str))
        else:
            parameters.append(inspect.Parameter(ident, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str], default=None))
        descriptions[ident] = shorten(param.description, COMMAND_DESCRIPTION_MAX) or param.name
        if ident != param.name:
            renames[ident] = param.name
        if param.kind is ParamKind.CHOICE and param.choices:
            choices[ident] = _fixed_choices(param)
        elif param.kind in COMPLETABLE:
            completions[ident] = _autocomplete(engine, params, param)
    public_ident = _python_name(PUBLIC_OPTION, taken)
    parameters.append(inspect.Parameter(public_ident, inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=False))
    descriptions[public_ident] = PUBLIC_DESCRIPTION

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        public = bool(options.pop(public_ident, False))
        args = {**fixed, **{by_python[k]: v for k, v in options.items() if v is not None}}
        request = Request.options(spec.name, args, caller_from(interaction), public=public)
        await adapter.answer(interaction, lambda: engine.handle(request))

    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    label = spec.name if name == spec.name else f"{spec.name}_{name}"
    callback.__name__ = callback.__qualname__ = f"crs_{label}".replace("-", "_")
    callback.__doc__ = None
    callback.__discord_app_commands_param_description__ = descriptions  # type: ignore[attr-defined]
    if renames:
        callback.__discord_app_commands_param_rename__ = renames  # type: ignore[attr-defined]
    if completions:
        callback.__discord_app_commands_param_autocomplete__ = completions  # type: ignore[attr-defined]
    if choices:
        callback.__discord_app_commands_param_choices__ = choices  # type: ignore[attr-defined]
    return app_commands.Command(
        name=name,
        description=shorten(summary or spec.summary, COMMAND_DESCRIPTION_MAX) or name,
        callback=callback,
        parent=parent,
    )


def build_variants(adapter: "CytobotClient", spec: CommandSpec) -> app_commands.Group | None:
    """A command with typed forms from the pack (one per grading scale) becomes a subcommand
    group: `/crs grade <form>`, each form's parameters its own options. None: no forms."""
    variants = spec.variants(adapter.engine.catalog) if spec.variants is not None else ()
    if not variants:
        return None
    # Without `parent`: a Group made with one adds itself there, and build_group adds it once.
    group = app_commands.Group(name=spec.name, description=shorten(spec.summary, COMMAND_DESCRIPTION_MAX) or spec.name)
    if len(variants) > SUBCOMMANDS_MAX:
        log.warning("Discord allows %d subcommands; %d forms of %s are not registered", SUBCOMMANDS_MAX,
                    len(variants) - SUBCOMMANDS_MAX, spec.name)
    for v in variants[:SUBCOMMANDS_MAX]:
        group.add_command(build_subcommand(adapter, spec, group, name=v.name, summary=v.summary, params=v.params, fixed=dict(v.fixed)))
    return group


def build_group(adapter: "CytobotClient", name: str) -> app_commands.Group:
    """The /crs group: every command of the core registry as a subcommand (or a subcommand
    group, for a command with typed forms)."""
    group = app_commands.Group(name=name, description=shorten(f"Look things up with {name}: topics, comparisons, facts", COMMAND_DESCRIPTION_MAX))
    specs = list(adapter.engine.commands)
    if len(specs) > SUBCOMMANDS_MAX:
        log.warning("Discord allows %d subcommands; %d commands are not registered: %s", SUBCOMMANDS_MAX,
                    len(specs) - SUBCOMMANDS_MAX, ", ".join(s.name for s in specs[SUBCOMMANDS_MAX:]))
    for spec in specs[:SUBCOMMANDS_MAX]:
        group.add_command(build_variants(adapter, spec) or build_subcommand(adapter, spec, group))
    return group


# --- the client ---------------------------------------------------------------------------------
class CytobotClient(discord.Client):
    """A discord.Client that holds a reference to the engine (composition, not inheritance of the core)."""

    def __init__(
        self,
        engine: Engine,
        *,
        command_name: str = DEFAULT_COMMAND,
        sync: bool = False,
        guild_id: int | None = None,
        **client_kwargs: Any,
    ) -> None:
        client_kwargs.setdefault("intents", discord.Intents.default())
        # No message the bot sends may ping anyone, whatever the content or user input says.
        client_kwargs["allowed_mentions"] = discord.AllowedMentions.none()
        super().__init__(**client_kwargs)
        self.engine = engine
        self.command_name = command_name
        self.sync_on_start = sync
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        self.group = build_group(self, command_name)
        self.tree.add_command(self.group)

    async def setup_hook(self) -> None:
        if self.sync_on_start:
            await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Upload the command tree: to one guild (instant, for testing) or globally."""
        if self.guild_id is not None:
            guild = discord.Object(id=self.guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d command(s) %s", len(synced), f"to guild {self.guild_id}" if self.guild_id else "globally")
        return synced

    # --- answering ----------------------------------------------------------------------------
    @INFLIGHT.tracked  # a shutdown waits for the answer to reach the user
    async def answer(self, interaction: discord.Interaction, make_reply: Callable[[], Awaitable[Any]], *,
                     shared_by: str | None = None) -> None:
        """Run the core and send its reply; any failure still answers the user, privately."""
        try:
            reply = await make_reply()
            message = render(reply, shared_by=shared_by if not reply.is_error else None)
            await self.send(interaction, message)
        except Exception:
            log.exception("failed to answer interaction %s", interaction.id)
            await self.send_error(interaction)

    async def send(self, interaction: discord.Interaction, message: DiscordMessage) -> None:
        if interaction.response.is_done():  # only if something already answered (e.g. a future defer)
            await interaction.followup.send(**message.send_kwargs())
        else:
            await interaction.response.send_message(**message.send_kwargs())

    async def send_error(self, interaction: discord.Interaction) -> None:
        """The friendly private apology; never raises (there is nobody left to tell)."""
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])
                return
            if interaction.response.is_done():
                await interaction.followup.send(SORRY, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
            else:
                await interaction.response.send_message(SORRY, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
        except Exception:
            log.exception("could not even send the error message for interaction %s", interaction.id)

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Errors discord.py raises before or around our callback (unknown command, bad options)."""
        # The error's text may quote option values (what was typed): log its kind, and a traceback
        # only for a failure inside our own code.
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else None
        log.error("command error for interaction %s: %s", interaction.id, type(error).__name__, exc_info=original)
        await self.send_error(interaction)

    @INFLIGHT.tracked  # a shutdown waits for the reply to be sent
    async def on_message(self, message: discord.Message) -> None:
        """A message that mentions the bot, or a direct message: answered with a reply to it.

        No privileged intent is needed: Discord delivers the content of messages that mention
        the bot and of DMs without Message Content. Bots (this one included) get no answer, an
        @everyone alone is not a mention of the bot, and the reply pings nobody (the client's
        AllowedMentions.none(), and mention_author=False)."""
        me = self.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return  # joins, pins, boosts...
        direct = isinstance(message.channel, discord.DMChannel)
        if not direct and not any(user.id == me.id for user in message.mentions):
            return
        origin = Origin.DIRECT if direct else Origin.MENTION
        try:
            reply = await self.engine.handle(Request.text(message.content, caller_from(message), public=True, origin=origin))
            kwargs = render(reply).send_kwargs()
            kwargs.pop("ephemeral")  # a message reply is seen by the channel; a public reply has no share button
            await message.reply(**kwargs, mention_author=False)
        except Exception:
            log.exception("failed to answer a %s in channel %s", origin.value, message.channel.id)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The share button, by custom_id prefix: stateless, so any replica can serve it."""
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if not custom_id.startswith(SHARE_PREFIX):
            return
        command = custom_id[len(SHARE_PREFIX) :]
        request = Request.text(command, caller_from(interaction), public=True, origin=Origin.BUTTON)
        await self.answer(interaction, lambda: self.engine.handle(request), shared_by=interaction.user.display_name)


class ShardedCytobotClient(CytobotClient, discord.AutoShardedClient):
    """The same bot over several gateway shards in one process (`shard_ids` of `shard_count`),
    for a replica that runs one range of shards."""


def build_client(
    engine: Engine,
    *,
    command_name: str = DEFAULT_COMMAND,
    sync: bool = False,
    guild_id: int | None = None,
    shard_ids: tuple[int, ...] | None = None,
    shard_count: int | None = None,
    **client_kwargs: Any,
) -> CytobotClient:
    """The real discord.py client for `engine`; tests pass e.g. guild_ready_timeout=0.1.
    With `shard_count` it is an AutoShardedClient running `shard_ids` (default: all shards)."""
    # discord.py warns at start-up that PyNaCl and davey are missing; they are for voice, which
    # this bot never joins, so nobody can act on it. Switch off exactly those two warnings.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    if shard_count is not None:
        return ShardedCytobotClient(engine, command_name=command_name, sync=sync, guild_id=guild_id,
                                    shard_ids=list(shard_ids) if shard_ids else None, shard_count=shard_count,
                                    **client_kwargs)
    return CytobotClient(engine, command_name=command_name, sync=sync, guild_id=guild_id, **client_kwargs)


def not_ready(client: discord.Client) -> str | None:
    """Why the client cannot answer now, or None: every shard it runs must be connected."""
    if client.is_closed():
        return "closed"
    if not client.is_ready():
        return "connecting to the gateway"
    if isinstance(client, discord.AutoShardedClient):
        down = sorted(shard_id for shard_id, shard in client.shards.items() if shard.is_closed())
        return f"shard(s) {', '.join(map(str, down))} disconnected; reconnecting" if down else None
    ws = client.ws
    return None if ws is not None and ws.open else "gateway disconnected; reconnecting"
