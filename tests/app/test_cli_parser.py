"""The command line registers only the sub-command it is given (app/cli.py): ``dicelens view`` imports
none of the scoring, report or batch modules before the window starts, and help, errors and every
command still see all of them."""

import subprocess
import sys
import textwrap

import pytest

from app.cli import COMMAND_MODULES, _modules_needed, main

COMMANDS = [module.rsplit(".", 1)[1] for module in COMMAND_MODULES]


@pytest.mark.parametrize("argv, expected", [
    (["view", "--gt", "a.nii", "--pred", "b.nii"], ["app.commands.view"]),
    (["--debug", "score", "--gt", "a"], ["app.commands.score"]),
    ([], ["app.commands.view"]),                        # no command: the default, the window
    (["--debug"], ["app.commands.view"]),
    (["--help"], COMMAND_MODULES),
    (["--version", "view"], COMMAND_MODULES),
    (["bogus"], COMMAND_MODULES),                       # the error lists every command
    (["view", "--help"], ["app.commands.view"]),
])
def test_the_modules_registered_are_those_the_command_line_needs(argv, expected):
    assert _modules_needed(argv) == list(expected)


def test_the_view_command_line_imports_no_scoring_report_or_batch_module():
    code = textwrap.dedent("""
        import sys
        from app.cli import build_parser
        args = build_parser(["view", "--gt", "g.nii", "--pred", "p.nii"]).parse_args(["view", "--gt", "g.nii",
                                                                                      "--pred", "p.nii"])
        heavy = ("app.batch", "app.report", "app.io", "app.scoring", "numpy", "SimpleITK", "PySide6")
        print(args.command, sorted(name for name in sys.modules if name.startswith(heavy)))
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "view []"


def test_help_and_an_unknown_command_list_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(command in listed for command in COMMANDS)
    with pytest.raises(SystemExit) as exited:
        main(["bogus"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in error and all(f"'{command}'" in error for command in COMMANDS)
