# bash completion for rdbox                                    -*- shell-script -*-
# Installed as share/bash-completion/completions/rdbox; try it from a checkout with
#   source completions/rdbox.bash
# Completes subcommands, options, their fixed values (modes, report formats, clone flags,
# log levels, clocks; capability names for --cap-add/--cap-drop) and, after the options, the command and its arguments
# (for rdbox pipeline, the first stage's command: each stage is one quoted argument). tests/install/help_consistency.sh checks every option of --help is here.

_rdbox_global_opts="-h --help -v --verbose --log-level --version"
_rdbox_run_opts="--mode --vm --vfork --report --report-file --report-fd --dry-run
 --privileged --cap-add --cap-drop --no-new-privs --seccomp --rlimit --timeout --kill-after
 --memory --memory-swap --pids --cpus --cpu-weight --cpu-shares --cgroup-parent"
_rdbox_compare_opts="--modes -n --rss --touch --format"
# The OCI runtime's subcommands (man rdbox-oci) and their options.
_rdbox_oci_subs="create start state kill delete exec list ps pause resume update features spec"
_rdbox_oci_global_opts="--root --log --log-format --debug --systemd-cgroup --cgroup-manager"
declare -A _rdbox_oci_opts=([create]="-b --bundle --pid-file --console-socket --preserve-fds --no-pivot --no-new-keyring"
 [kill]="-a --all" [delete]="-f --force" [list]="-f --format -q --quiet" [ps]="-f --format" [spec]="-b --bundle --rootless"
 [update]="-r --resources --memory --memory-swap --memory-reservation --pids-limit --cpu-quota --cpu-period --cpu-share --cpu-shares --cpuset-cpus --cpuset-mems --blkio-weight"
 [exec]="-p --process -d --detach --pid-file -t --tty --console-socket --cwd -e --env -u --user -c --cap --no-new-privs --preserve-fds --ignore-paused")
_rdbox_pipeline_opts="--pipefail"
_rdbox_common_opts="--clone-flags --stack-size --argv0 -e --env --env-file --clear-env
 -w --workdir --preserve-fds --newpid --newns --newuts --newipc --newnet --newuser
 --newcgroup --newtime --unshare-all --time-offset --init --mount-proc --hostname
 --uid-map --gid-map --user --rootfs --overlay --bind --ro-bind --tmpfs --read-only"
# Options that take a value (the next word is that value, not the command).
_rdbox_value_opts="--log-level --mode --report --report-file --report-fd --modes -n --rss
 --format --clone-flags --stack-size --argv0 -e --env --env-file -w --workdir --preserve-fds
 --time-offset --hostname --uid-map --gid-map --user --rootfs --bind --ro-bind --tmpfs
 --cap-add --cap-drop --seccomp --rlimit --timeout --kill-after
 --memory --memory-swap --pids --cpus --cpu-weight --cpu-shares --cgroup-parent"
_rdbox_caps="CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_AUDIT_WRITE CAP_BLOCK_SUSPEND CAP_BPF
 CAP_CHECKPOINT_RESTORE CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID
 CAP_IPC_LOCK CAP_IPC_OWNER CAP_KILL CAP_LEASE CAP_LINUX_IMMUTABLE CAP_MAC_ADMIN
 CAP_MAC_OVERRIDE CAP_MKNOD CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_RAW
 CAP_PERFMON CAP_SETFCAP CAP_SETGID CAP_SETPCAP CAP_SETUID CAP_SYSLOG CAP_SYS_ADMIN CAP_SYS_BOOT
 CAP_SYS_CHROOT CAP_SYS_MODULE CAP_SYS_NICE CAP_SYS_PACCT CAP_SYS_PTRACE CAP_SYS_RAWIO
 CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_WAKE_ALARM ALL"

# Completes the last item of a comma-separated list from the words in $1.
_rdbox_list() {
  local prefix="" last=$cur
  if [[ $cur == *,* ]]; then
    prefix=${cur%,*},
    last=${cur##*,}
  fi
  COMPREPLY=($(compgen -P "$prefix" -W "$1" -- "$last"))
  compopt -o nospace 2>/dev/null
}

# Completes the value of option $1; returns 1 when $1 takes no value.
_rdbox_value() {
  case $1 in
    --mode) COMPREPLY=($(compgen -W "fork vfork clone spawn" -- "$cur")) ;;
    --report) COMPREPLY=($(compgen -W "text json none" -- "$cur")) ;;
    --format) COMPREPLY=($(compgen -W "table json csv" -- "$cur")) ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")) ;;
    --modes) _rdbox_list "fork vfork clone clone-vm clone-vm-vfork spawn" ;;
    --clone-flags) _rdbox_list "FILES FS IO SYSVSEM PIDFD SIGHAND" ;;
    --time-offset) _rdbox_list "monotonic= boottime=" ;;
    --cap-add|--cap-drop) _rdbox_list "$_rdbox_caps" ;;
    --seccomp) COMPREPLY=($(compgen -W "default unconfined" -- "$cur") $(compgen -f -- "$cur")) ;;
    --rlimit) COMPREPLY=($(compgen -W "NOFILE= NPROC= AS= CPU= CORE= FSIZE= STACK= MEMLOCK=" -- "$cur")) ;;
    --stack-size) COMPREPLY=($(compgen -W "16K 64K 256K 1M 8M" -- "$cur")) ;;
    --rss) COMPREPLY=($(compgen -W "64M 256M 1G 4G" -- "$cur")) ;;
    -n) COMPREPLY=($(compgen -W "10 100 200 1000" -- "$cur")) ;;
    --preserve-fds|--report-fd) COMPREPLY=($(compgen -W "1 2 3 4 5 6 7 8 9" -- "$cur")) ;;
    --rootfs|-w|--workdir|--tmpfs) COMPREPLY=($(compgen -d -- "$cur")) ;;
    --report-file|--env-file|--bind|--ro-bind) COMPREPLY=($(compgen -f -- "$cur")) ;;
    -e|--env) COMPREPLY=($(compgen -e -- "$cur")) ;;
    --user|--hostname|--argv0|--uid-map|--gid-map) COMPREPLY=() ;;
    *) return 1 ;;
  esac
  return 0
}

_rdbox() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
  fi
  local sub="" i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    if [[ -n $sub ]]; then
      # After the subcommand's options comes the command: complete it as its own line.
      if [[ $w == -- ]] || [[ $w != -* && " $_rdbox_value_opts " != *" ${words[i - 1]} "* ]]; then
        [[ $w == -- ]] && ((i++))
        if declare -F _command_offset >/dev/null; then
          _command_offset "$i"
        elif ((i == cword)); then
          COMPREPLY=($(compgen -c -- "$cur"))
        else
          COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
      fi
    elif [[ $w == run || $w == compare || $w == pipeline || $w == doctor ]]; then
      sub=$w
    elif [[ " $_rdbox_oci_subs " == *" $w "* ]]; then
      sub=$w
    elif [[ $w == --log-level ]]; then
      ((i++))
    fi
  done
  _rdbox_value "$prev" && return
  if [[ -z $sub ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$_rdbox_global_opts $_rdbox_oci_global_opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "run compare pipeline doctor $_rdbox_oci_subs" -- "$cur"))
    fi
    return
  fi
  if [[ " $_rdbox_oci_subs " == *" $sub "* ]]; then
    [[ $cur == -* ]] && COMPREPLY=($(compgen -W "${_rdbox_oci_opts[$sub]}" -- "$cur"))
    return
  fi
  local opts="-h --help -v --verbose --log-level"
  case $sub in
    run) opts+=" $_rdbox_run_opts $_rdbox_common_opts -b --bundle -d --detach --pid-file --console-socket --" ;;
    compare) opts+=" $_rdbox_compare_opts $_rdbox_common_opts --" ;;
    pipeline) opts+=" $_rdbox_run_opts $_rdbox_pipeline_opts $_rdbox_common_opts --" ;;
  esac
  if [[ $cur == -* || $sub == doctor ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -c -- "$cur"))
  fi
}
complete -F _rdbox rdbox
