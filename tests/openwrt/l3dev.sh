#!/bin/sh
# netifd protocol handler for the tests (installed as /lib/netifd/proto/l3dev.sh in a test
# router): like pppoe, the interface's L3 device (option l3_device) exists only while the
# interface is up; its L2 device (option device) is there all the time.
. /lib/functions.sh
. ../netifd-proto.sh
init_proto "$@"

proto_l3dev_init_config() {
	proto_config_add_string l3_device
	proto_config_add_string ipaddr
}

proto_l3dev_setup() {
	local config="$1"
	local l3_device ipaddr
	json_get_vars l3_device ipaddr
	ip link add "$l3_device" type veth peer name "$l3_device-p" || {
		proto_setup_failed "$config"
		return 1
	}
	ip link set "$l3_device-p" up
	ip link set "$l3_device" up
	proto_init_update "$l3_device" 1
	proto_add_ipv4_address "$ipaddr" 24
	proto_send_update "$config"
}

proto_l3dev_teardown() {
	local l3_device
	json_get_vars l3_device
	ip link del "$l3_device"
}

add_protocol l3dev
