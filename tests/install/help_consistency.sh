#!/usr/bin/env bash
# Every option `rdbox [SUBCOMMAND] --help` lists is defined in the matching man page
# (docs/man/*.md) and completed by both completions; every option the man page defines is
# in --help (the subcommand's or rdbox's own, which apply everywhere).
# Usage: help_consistency.sh RDBOX SOURCE_DIR
set -euo pipefail
rdbox=$1 src=$2
status=0
complain() { echo "help/man consistency: $*" >&2; status=1; }

# The option names on the lines --help uses to list options ("  -e,--env KEY=VAL ...").
help_options() {
  "$rdbox" "$@" --help | grep -E '^ +-' | sed -E 's/^ +//; s/ .*//' | tr ',' '\n' | sort -u
}
# The option names the man page's OPTIONS section defines: definition lines start with **-.
man_options() {
  sed -n '/^# OPTIONS/,/^# [A-Z]/p' "$src/docs/man/$1.1.md" | grep -E '^\*\*-' | grep -oE '\*\*--?[A-Za-z0-9][-A-Za-z0-9]*\*\*' | tr -d '*' | sort -u
}
# rdbox pipeline takes every option of rdbox run: its page defines its own and points to
# rdbox-run(1) for the rest, so an option of its --help may be defined in either page.

top=$(help_options)
[[ -n $top ]] || complain "rdbox --help lists no options"
for sub in "" run compare pipeline doctor; do
  page=rdbox${sub:+-$sub}
  listed=$(help_options $sub)
  defined=$(man_options "$page")
  also=""
  [[ $sub == pipeline ]] && also=$(man_options rdbox-run)
  [[ -n $listed ]] || complain "rdbox $sub --help lists no options"
  for o in $listed; do
    grep -qxF -- "$o" <<<"$defined" || grep -qxF -- "$o" <<<"$also" ||
      complain "$o is in rdbox $sub --help but not defined in $page.1.md"
    grep -qwF -- "$o" "$src/completions/rdbox.bash" || complain "$o is in rdbox $sub --help but not in completions/rdbox.bash"
    grep -qF -- "$o" "$src/completions/_rdbox" || complain "$o is in rdbox $sub --help but not in completions/_rdbox"
  done
  for o in $defined; do
    [[ $o == --version && -z $sub ]] && { grep -qF -- '--version' <<<"$("$rdbox" --help)" || complain "--version not in rdbox --help"; continue; }
    grep -qxF -- "$o" <<<"$listed" || grep -qxF -- "$o" <<<"$top" ||
      complain "$o is defined in $page.1.md but not in rdbox $sub --help"
  done
  if [[ -n $sub ]]; then
    n=$("$rdbox" $sub --help | sed -n '/^Examples:/,/^$/p' | grep -cE '^  ([^ ]+ )*rdbox( |$)' || true)
    ((n >= 3)) || complain "rdbox $sub --help shows $n examples, want 3"
    "$rdbox" $sub --help | grep -q "^Usage: rdbox $sub" || complain "rdbox $sub --help has no usage line"
    "$rdbox" $sub --help | grep -Eq ' TEXT( |$)' && complain "rdbox $sub --help has an untyped TEXT metavar"
  fi
done
bash -n "$src/completions/rdbox.bash" || complain "completions/rdbox.bash does not parse"
# The bash completion's answers for a few command lines (the cursor at the last word).
complete_bash() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           _rdbox; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$src/completions/rdbox.bash" "$@"
}
check_completion() {
  local want=$1
  shift
  local got
  got=$(complete_bash "$@")
  [[ $got == "$want" ]] || complain "completing \"$*\": got \"$got\", want \"$want\""
}
check_completion "compare create delete doctor exec features kill list pause pipeline ps resume run spec start state update " rdbox ""
check_completion "--memory --memory-reservation --memory-swap " rdbox update --mem
check_completion "--all " rdbox kill --a
check_completion "clone fork spawn vfork " rdbox run --mode ""
check_completion "json none text " rdbox run --report ""
check_completion "csv json table " rdbox compare --format ""
check_completion "fork,clone fork,clone-vm fork,clone-vm-vfork " rdbox compare --modes fork,cl
check_completion "--newpid " rdbox run --newp
check_completion "--touch " rdbox compare --to
check_completion "--pipefail " rdbox pipeline --pipe
check_completion "clone fork spawn vfork " rdbox pipeline --mode ""
if command -v zsh >/dev/null; then
  zsh -n "$src/completions/_rdbox" || complain "completions/_rdbox does not parse"
fi
exit $status
