# Stand-in for the procd shell API that /etc/rc.common loads for a USE_PROCD init script
# (/lib/functions/procd.sh). A fake because procd is not available here: each function only
# records its name and arguments, one call per line in $PROCD_LOG, so a test can compare the
# calls an init script makes with what procd expects.
# Usage: sh procd.sh INITSCRIPT FUNCTION...   (sources the script the way rc.common does)

_record() {
	printf '%s' "$1" >>"$PROCD_LOG"
	shift
	for arg in "$@"; do
		printf ' %s' "$arg" >>"$PROCD_LOG"
	done
	printf '\n' >>"$PROCD_LOG"
}

procd_open_instance() { _record procd_open_instance "$@"; }
procd_set_param() { _record procd_set_param "$@"; }
procd_append_param() { _record procd_append_param "$@"; }
procd_close_instance() { _record procd_close_instance "$@"; }
procd_add_reload_trigger() { _record procd_add_reload_trigger "$@"; }
procd_add_interface_trigger() { _record procd_add_interface_trigger "$@"; }
procd_add_reload_interface_trigger() { _record procd_add_reload_interface_trigger "$@"; }
procd_open_trigger() { _record procd_open_trigger "$@"; }
procd_close_trigger() { _record procd_close_trigger "$@"; }
procd_send_signal() { _record procd_send_signal "$@"; }

initscript=$1
shift
. "$initscript"
[ -n "$USE_PROCD" ] || { echo "USE_PROCD not set" >&2; exit 2; }
[ -z "$PROG_OVERRIDE" ] || PROG=$PROG_OVERRIDE
for function in "$@"; do
	"$function" || exit
done
