"""The enterprise template commands, made once per template kind, with ibmcloud's names:
`account-settings-template*` / `account-settings-assignment*` and
`trusted-profile-template*` / `trusted-profile-assignment*` (IBM Cloud only).

Both kinds speak the same API shape, so one set of command bodies serves both; only the names,
the help and the layout of the kind's own part differ. Beyond ibmcloud's documented commands
there is `*-template-delete TEMPLATE` (the API's "delete all versions", which ibmcloud's own
example names) and `trusted-profile-template` (the latest version, as
`account-settings-template` shows it).

(No `from __future__ import annotations` here: the commands are made inside a function, and
Typer reads their annotations, which must then be values, not strings to look up.)
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .account_views import (
    ASSIGNMENT_COLUMNS,
    TEMPLATE_COLUMNS,
    assignment_record,
    assignment_row,
    template_record,
    template_row,
)
from .params import ForceOpt, Run, command
from .service_ids import as_whom
from .views import confirm, primed

if TYPE_CHECKING:
    from ..account_models import Assignment, Template
    from ..flavors.cloud_account import TemplateApi


class Kind:
    """One kind of template, as the commands name it. (A plain class: a dataclass would cost
    a millisecond of every start, `--help` and TAB included.)"""

    __slots__ = ("article", "kind", "prefix", "what")

    def __init__(self, kind: str, prefix: str, what: str, article: str) -> None:
        self.kind = kind  # the API's: account_settings, profile
        self.prefix = prefix  # of the command names
        self.what = what  # in messages: "account settings template"
        self.article = article  # "an " or "a "


ACCOUNT_SETTINGS = Kind("account_settings", "account-settings", "account settings template", "an ")
TRUSTED_PROFILE = Kind("profile", "trusted-profile", "trusted profile template", "a ")

TemplateRef = Annotated[
    str, typer.Argument(metavar="(TEMPLATE_ID|TEMPLATE_NAME)", help="Template ID or name.")
]
VersionArg = Annotated[
    str, typer.Argument(metavar="TEMPLATE_VERSION", help="Version number of the template.")
]
AssignmentRef = Annotated[str, typer.Argument(metavar="ASSIGNMENT_ID", help="Assignment ID.")]
FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        metavar="JSON_FILE",
        help="JSON file of the template definition (the body of IBM's API request).",
    ),
]
DescriptionOpt = Annotated[
    str | None,
    typer.Option("-d", "--description", metavar="DESCRIPTION", help="Description of the template."),
]


def _api(run: Run, kind: Kind) -> "TemplateApi":
    """The kind's template API: a usage error naming the family where there is none, before
    any token is minted."""
    api = run.session.flavor(authenticated=False).templates(kind.kind)
    run.session.flavor()
    return api


# Each command's help, by the part of its name after the kind's prefix. Kept apart from the
# commands so that `--help` and TAB read it without making the commands.
_HELP = {
    "templates": ("List the {what}s of the current (enterprise) account: the latest versions."),
    "template": ("Show the latest version of {a_what}."),
    "template-create": (
        """Create {a_what} (version 1) in the current enterprise account.

        Give the template's settings with --file: a JSON object with `name`, `description` and
        `{kind}`, as IBM's API takes it; NAME and --description win over the file's."""
    ),
    "template-delete": (
        "Delete {a_what} with all its versions; refused while an assignment uses it."
    ),
    "template-versions": ("List the versions of {a_what}."),
    "template-version": ("Show one version of {a_what}."),
    "template-version-create": (
        """Create a new version of {a_what} from a JSON file.

        What the file leaves out (the name, the description) stays as the latest version has
        it."""
    ),
    "template-version-update": (
        """Change a version of {a_what} that is not committed yet.

        What is not given stays as the version has it. The version read just before is sent
        (If-Match): a change made meanwhile is refused with exit code 5."""
    ),
    "template-version-delete": (
        "Delete one version of {a_what}; refused while an assignment uses it."
    ),
    "template-version-commit": (
        "Commit a version of {a_what}: it can no longer change, and it can be assigned."
    ),
    "assignments": (
        "List the assignments of {what}s of the current enterprise account, with their status."
    ),
    "assignment": ("Show an assignment of {a_what}, with its status and what it made."),
    "assignment-create": (
        """Assign a committed version of {a_what} to a child account or account group.

        IBM applies it asynchronously: the answer's status is `accepted` or `in_progress`;
        `{prefix}-assignment ASSIGNMENT_ID` shows how it ended."""
    ),
    "assignment-update": (
        """Move an assignment to another version of its {what}, or retry a failed one
        (give its current version). The assignment read just before is sent (If-Match)."""
    ),
    "assignment-delete": (
        "Delete an assignment of {a_what}: what it made in the target account is removed."
    ),
}


def help_texts(k: Kind) -> dict[str, str]:
    """Each command's name and help, without making any command."""
    return {
        f"{k.prefix}-{suffix}": text.format(
            what=k.what, a_what=k.article + k.what, kind=k.kind, prefix=k.prefix
        )
        for suffix, text in _HELP.items()
    }


def _delete(run: Run, force: bool, what: str, short: str, act: Callable[[], object]) -> None:
    """Ask (or take -f), delete, and say so, as every delete command does."""
    if not confirm(f"Delete {what}?", force=force, action="delete"):
        run.out.status("Not deleted.")
        return
    run.out.status(f"Deleting {short} as {as_whom(run)}...")
    act()
    run.out.ok()
    run.out.status(f"{short[:1].upper()}{short[1:]} is deleted successfully")


def _doc(k: Kind, suffix: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def make(fn: Callable[..., None]) -> Callable[..., None]:
        fn.__doc__ = help_texts(k)[f"{k.prefix}-{suffix}"]
        return command(fn)

    return make


@functools.cache
def template_commands(k: Kind) -> dict[str, Callable[..., None]]:
    """Every template and assignment command of one kind, by name."""
    from ..errors import UsageError

    commands: dict[str, Callable[..., None]] = {}

    def show(run: Run, t: "Template") -> None:
        if run.json:
            run.out.json_value(t.to_json())
        else:
            run.out.record(template_record(t, k.kind))

    def listing(run: Run, found: Any) -> None:
        if run.json:
            run.out.json_stream_list(None, primed(t.to_json() for t in found))
            return
        rows = primed(template_row(t) for t in found)
        run.out.ok()
        run.out.table(TEMPLATE_COLUMNS, rows, empty="No templates found.")

    def show_assignment(run: Run, a: "Assignment") -> None:
        if run.json:
            run.out.json_value(a.to_json())
        else:
            run.out.record(assignment_record(a))

    @_doc(k, "templates")
    def templates(run: Run) -> None:
        api = _api(run, k)
        run.out.status(f"Getting {k.what}s of account {api.account_id} as {as_whom(run)}...")
        listing(run, api.templates())

    commands[f"{k.prefix}-templates"] = templates

    @_doc(k, "template")
    def template(run: Run, ref: TemplateRef) -> None:
        from ..services.templates import resolve_template

        show(run, resolve_template(_api(run, k), ref, k.what))

    commands[f"{k.prefix}-template"] = template

    @_doc(k, "template-create")
    def template_create(
        run: Run,
        name: Annotated[
            str | None,
            typer.Argument(metavar="[TEMPLATE_NAME]", help="Name [default: the file's]."),
        ] = None,
        description: DescriptionOpt = None,
        file: FileOpt = None,
    ) -> None:
        from ..services.templates import template_body

        body = template_body(k.kind, file, name, description)
        if not body.get("name"):
            raise UsageError("a template needs a name: give TEMPLATE_NAME or 'name' in --file")
        api = _api(run, k)
        run.out.status(f"Creating {k.what} {body['name']} as {as_whom(run)}...")
        made = api.create(body)
        run.out.ok()
        run.out.status(f"{k.what.capitalize()} {made.name} is created successfully")
        show(run, made)

    commands[f"{k.prefix}-template-create"] = template_create

    @_doc(k, "template-delete")
    def template_delete(run: Run, ref: TemplateRef, force: ForceOpt = False) -> None:
        from ..services.templates import resolve_template

        api = _api(run, k)
        current = resolve_template(api, ref, k.what)
        _delete(
            run,
            force,
            f"{k.what} {current.name} ({current.id}) and all its versions",
            f"{k.what} {current.name}",
            lambda: api.delete_template(current.id),
        )

    commands[f"{k.prefix}-template-delete"] = template_delete

    @_doc(k, "template-versions")
    def template_versions(run: Run, ref: TemplateRef) -> None:
        from ..services.templates import resolve_template

        api = _api(run, k)
        current = resolve_template(api, ref, k.what)
        run.out.status(f"Getting versions of {k.what} {current.name} as {as_whom(run)}...")
        listing(run, api.versions(current.id))

    commands[f"{k.prefix}-template-versions"] = template_versions

    @_doc(k, "template-version")
    def template_version(run: Run, ref: TemplateRef, version: VersionArg) -> None:
        from ..services.templates import resolve_version

        show(run, resolve_version(_api(run, k), ref, version, k.what))

    commands[f"{k.prefix}-template-version"] = template_version

    @_doc(k, "template-version-create")
    def template_version_create(
        run: Run,
        ref: TemplateRef,
        file: Annotated[
            str,
            typer.Option(
                "--file", metavar="JSON_FILE", help="JSON file of the template definition."
            ),
        ],
        description: DescriptionOpt = None,
    ) -> None:
        from ..services.templates import resolve_template, template_body

        body = template_body(k.kind, file, None, description)
        api = _api(run, k)
        current = resolve_template(api, ref, k.what)
        body = {"name": current.name, **body}
        run.out.status(f"Creating a new version of {k.what} {current.name} as {as_whom(run)}...")
        made = api.create_version(current.id, body)
        run.out.ok()
        run.out.status(f"Version {made.version} of {made.name} is created successfully")
        show(run, made)

    commands[f"{k.prefix}-template-version-create"] = template_version_create

    @_doc(k, "template-version-update")
    def template_version_update(
        run: Run,
        ref: TemplateRef,
        version: VersionArg,
        file: FileOpt = None,
        description: DescriptionOpt = None,
        name: Annotated[
            str | None,
            typer.Option("-n", "--name", metavar="NAME", help="New name (of every version)."),
        ] = None,
    ) -> None:
        from ..services.templates import resolve_version, template_body, update_version

        body = template_body(k.kind, file, name, description)
        if not body:
            raise UsageError("nothing to change: give --file, -d DESCRIPTION and/or -n NAME")
        api = _api(run, k)
        current = resolve_version(api, ref, version, k.what)
        run.out.status(
            f"Updating version {current.version} of {k.what} {current.name} as {as_whom(run)}..."
        )
        updated = update_version(api, current, body)
        run.out.ok()
        run.out.status(f"Version {updated.version} of {updated.name} is updated successfully")
        show(run, updated)

    commands[f"{k.prefix}-template-version-update"] = template_version_update

    @_doc(k, "template-version-delete")
    def template_version_delete(
        run: Run, ref: TemplateRef, version: VersionArg, force: ForceOpt = False
    ) -> None:
        from ..services.templates import resolve_version

        api = _api(run, k)
        current = resolve_version(api, ref, version, k.what)
        _delete(
            run,
            force,
            f"version {current.version} of {k.what} {current.name}",
            f"version {current.version} of {current.name}",
            lambda: api.delete_version(current.id, current.version),
        )

    commands[f"{k.prefix}-template-version-delete"] = template_version_delete

    @_doc(k, "template-version-commit")
    def template_version_commit(run: Run, ref: TemplateRef, version: VersionArg) -> None:
        from ..services.templates import resolve_version

        api = _api(run, k)
        current = resolve_version(api, ref, version, k.what)
        run.out.status(
            f"Committing version {current.version} of {k.what} {current.name} as {as_whom(run)}..."
        )
        api.commit(current.id, current.version)
        run.out.ok()
        run.out.status(f"Version {current.version} of {current.name} is committed successfully")

    commands[f"{k.prefix}-template-version-commit"] = template_version_commit

    # -- assignments ---------------------------------------------------------------------

    @_doc(k, "assignments")
    def assignments(
        run: Run,
        template_ref: Annotated[
            str | None,
            typer.Option(
                "--template",
                metavar="TEMPLATE",
                help="Only the assignments of this template (ID or name).",
            ),
        ] = None,
    ) -> None:
        from ..services.templates import resolve_template

        api = _api(run, k)
        tid = resolve_template(api, template_ref, k.what).id if template_ref else None
        run.out.status(
            f"Getting {k.what} assignments of account {api.account_id} as {as_whom(run)}..."
        )
        found = api.assignments(template_id=tid)
        if run.json:
            run.out.json_stream_list(None, primed(a.to_json() for a in found))
            return
        rows = primed(assignment_row(a) for a in found)
        run.out.ok()
        run.out.table(ASSIGNMENT_COLUMNS, rows, empty="No assignments found.")

    commands[f"{k.prefix}-assignments"] = assignments

    @_doc(k, "assignment")
    def assignment(run: Run, aid: AssignmentRef) -> None:
        from ..services.templates import resolve_assignment

        show_assignment(run, resolve_assignment(_api(run, k), aid))

    commands[f"{k.prefix}-assignment"] = assignment

    def assign(run: Run, ref: str, version: str, target_type: str, target: str) -> None:
        from ..services.templates import assign as assign_to
        from ..services.templates import resolve_version

        api = _api(run, k)
        template_v = resolve_version(api, ref, version, k.what)
        run.out.status(
            f"Assigning version {template_v.version} of {k.what} {template_v.name} to "
            f"{target_type} {target} as {as_whom(run)}..."
        )
        made = assign_to(api, template_v, target_type, target)
        run.out.ok()
        run.out.status(f"Assignment {made.id} is created; its status is {made.status or '-'}")
        show_assignment(run, made)

    if k is ACCOUNT_SETTINGS:

        @_doc(k, "assignment-create")
        def assignment_create(
            run: Run,
            ref: TemplateRef,
            version: VersionArg,
            target_type: Annotated[
                str, typer.Argument(metavar="TARGET_TYPE", help="Account or AccountGroup.")
            ],
            target: Annotated[
                str, typer.Argument(metavar="TARGET", help="The account or account group ID.")
            ],
        ) -> None:
            assign(run, ref, version, target_type, target)

    else:

        @_doc(k, "assignment-create")
        def assignment_create(
            run: Run,
            ref: TemplateRef,
            version: VersionArg,
            target_type: Annotated[
                str,
                typer.Option("--target-type", metavar="TYPE", help="Account or AccountGroup."),
            ],
            target: Annotated[
                str,
                typer.Option("--target", metavar="TARGET", help="The account or account group ID."),
            ],
        ) -> None:
            assign(run, ref, version, target_type, target)

    commands[f"{k.prefix}-assignment-create"] = assignment_create

    @_doc(k, "assignment-update")
    def assignment_update(run: Run, aid: AssignmentRef, version: VersionArg) -> None:
        from ..services.templates import resolve_assignment, version_number

        number = version_number(version)
        api = _api(run, k)
        current = resolve_assignment(api, aid)
        run.out.status(f"Updating assignment {current.id} to version {number} as {as_whom(run)}...")
        updated = api.update_assignment(current, number)
        run.out.ok()
        show_assignment(run, updated)

    commands[f"{k.prefix}-assignment-update"] = assignment_update

    @_doc(k, "assignment-delete")
    def assignment_delete(run: Run, aid: AssignmentRef, force: ForceOpt = False) -> None:
        from ..services.templates import resolve_assignment

        api = _api(run, k)
        current = resolve_assignment(api, aid)
        _delete(
            run,
            force,
            f"assignment {current.id} (to {current.target_type} {current.target})",
            f"assignment {current.id}",
            lambda: api.delete_assignment(current.id),
        )

    commands[f"{k.prefix}-assignment-delete"] = assignment_delete
    return commands
