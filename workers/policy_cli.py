"""`duecourse policy check FILE` and `duecourse policy show`: the collections policy from the command line.

`check` answers every problem as `FILE:LINE: what is wrong` and exits 1, or prints "ok" and exits 0;
`show` prints the policy in force (the file's, or the built-in default when there is none) and where it
came from. Both take `--json` and then print exactly one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.cli import json_flag

if TYPE_CHECKING:
    from workers.cli import Commands
    from workflows.policy import Policy

EXIT_PROBLEMS = 1


def cmd_policy_check(args: argparse.Namespace) -> int:
    from activities.policy import check_policy_file

    _, problems = check_policy_file(Path(args.file))
    if args.json:
        print(json.dumps({"ok": not problems, "problems": [p.model_dump() for p in problems]}))
    elif problems:
        print("\n".join(str(problem) for problem in problems))
    else:
        print("ok")
    return EXIT_PROBLEMS if problems else 0


def cmd_policy_show(args: argparse.Namespace) -> int:
    from activities.policy import check_policy_file, policy_path
    from workers.settings import data_dir
    from workflows.policy import default_policy

    path = policy_path(data_dir())
    if path.exists():
        policy, problems = check_policy_file(path)
        source = "file"
    else:
        policy, problems, source = default_policy(), [], "default"
    if policy is None:
        if args.json:
            print(json.dumps({"source": "file", "path": str(path), "ok": False,
                              "problems": [p.model_dump() for p in problems]}))
        else:
            print("\n".join(str(problem) for problem in problems))
            print(f"the policy file {path} has problems; running invoices keep the last good policy")
        return EXIT_PROBLEMS
    if args.json:
        print(json.dumps({"source": source, "path": str(path), "ok": True, "digest": policy.digest(),
                          "policy": policy.model_dump(mode="json")}))
    else:
        where = f"from {path}" if source == "file" else f"built-in default (no file at {path})"
        print(f"collections policy {policy.digest()}, {where}")
        print(describe(policy))
    return 0


def describe(policy: Policy) -> str:
    """The policy as a finance lead reads it."""
    window = policy.send_window
    lines = [f"  minimum balance {policy.minimum_balance}"
             + "".join(f"; {code} {amount}" for code, amount in policy.minimum_balance_by_currency.items()),
             f"  sends {', '.join(policy.business_days)} {window.start:%H:%M}-{window.end:%H:%M} customer-local",
             f"  needs a human: {_approval(policy)}"]
    if policy.closures:
        lines.append("  company closed " + ", ".join(day.isoformat() for day in policy.closures))
    for code, days_off in policy.holidays.items():
        extra = ", ".join(day.isoformat() for day in days_off.extra) or "none"
        lines.append(f"  holidays {code}: calendar {days_off.calendar or code}; extra {extra}")
    for period in policy.quiet_periods:
        lines.append(f"  quiet {period.label}: {period.start.isoformat()} to {period.end.isoformat()}")
    for name, ladder in policy.ladders.items():
        who = "default" if name == policy.default_ladder else _segment(ladder.match.model_dump(exclude_defaults=True)
                                                                      if ladder.match else {})
        levels = ", ".join(f"{level.days:+d} {level.tone}{' (approval)' if level.approval else ''}"
                           for level in ladder.levels)
        lines.append(f"  ladder {name} [{who}]: {levels}; escalate {ladder.escalate_after_days} days after the last")
    return "\n".join(lines)


def _approval(policy: Policy) -> str:
    approval = policy.approval
    if approval.reminders == "all":
        skipped = ", ".join(f"#{n}" for n in approval.except_reminders)
        return "every reminder" + (f" but {skipped}" if skipped else "")
    if approval.reminders == "none":
        return "no reminder (unless its level says approval)"
    return "reminders " + ", ".join(f"#{n}" for n in approval.reminders)


def _segment(criteria: dict[str, Any]) -> str:
    return "; ".join(f"{key} {', '.join(map(str, value)) if isinstance(value, list | tuple) else value}"
                     for key, value in criteria.items()) or "never matched"


def add_policy_commands(commands: Commands) -> None:
    """`policy check FILE`, `policy show`."""
    policy = commands.add_parser("policy", help="the collections policy file").add_subparsers(
        dest="policy_command", required=True)
    check = policy.add_parser("check", help="check a policy file: every problem with its line (exit 1 if any)")
    check.add_argument("file", metavar="FILE")
    json_flag(check)
    check.set_defaults(run=cmd_policy_check)
    show = policy.add_parser("show", help="the policy in force and where it comes from")
    json_flag(show)
    show.set_defaults(run=cmd_policy_show)
