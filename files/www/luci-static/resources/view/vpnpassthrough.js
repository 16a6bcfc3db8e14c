'use strict';
'require view';
'require form';
'require rpc';
'require poll';
'require dom';
'require ui';
'require uci';
'require tools.widgets as widgets';

/*
 * Services → VPN Passthrough: the three switches of a classic router, the other options on a
 * second tab, and a status panel fed by one `vpnpassthrough status {"tunnels": true}` call
 * every 5 s. The form renders at once; the panel fills in when the call answers.
 *
 * panelModel() turns a status reply into plain text (the tests read it under node);
 * updatePanel() puts that text in with LuCI's helpers, always as text nodes: E() and
 * cbi_update_table() insert a bare string as HTML, and what the router reports can carry
 * config values.
 */

var POLL_SECONDS = 5;

var callStatus = rpc.declare({
	object: 'vpnpassthrough',
	method: 'status',
	params: [ 'tunnels' ],
	expect: { '': {} },
	reject: true,
	nobatch: true  /* a slow answer must not hold up the page's other calls */
});

var PROTOCOLS = [
	{
		name: 'ipsec',
		title: _('IPsec'),
		switchTitle: _('IPsec Passthrough'),
		description: _('Lets IPsec VPNs from the LAN reach servers on the Internet.')
	},
	{
		name: 'pptp',
		title: _('PPTP'),
		switchTitle: _('PPTP Passthrough'),
		description: _('Lets PPTP VPNs from the LAN reach servers on the Internet, with the PPTP helper so that several LAN clients can reach one server.')
	},
	{
		name: 'l2tp',
		title: _('L2TP'),
		switchTitle: _('L2TP Passthrough'),
		description: _('Lets L2TP VPNs from the LAN reach servers on the Internet; L2TP/IPsec also needs IPsec Passthrough.')
	}
];

/* UCI's boolean spellings, which the service reads in any letter case. */
var TRUE = [ '1', 'yes', 'on', 'true', 'enabled' ];
var FALSE = [ '0', 'no', 'off', 'false', 'disabled' ];

/* Theme classes with 4.5:1 contrast in light and dark mode ('label success' has not). */
var STATES = {
	passing: [ 'label notice', _('Passing') ],
	blocked: [ 'label', _('Blocked') ],
	degraded: [ 'label warning', _('Degraded') ],
	inactive: [ 'label', _('Inactive') ]
};

var MODULE_STATES = {
	loaded: _('loaded'),
	builtin: _('built into the kernel'),
	available: _('installed, not loaded'),
	busy: _('in use elsewhere, left loaded')
};

function isObject(value) {
	return value != null && typeof(value) == 'object' && !Array.isArray(value);
}

function list(value) {
	return Array.isArray(value) ? value : [];
}

function pad(n) {
	return (n < 10 ? '0' : '') + n;
}

/* Text from the router as a node of its own, never parsed as HTML. */
function text(value) {
	return E('span', {}, [ String(value) ]);
}

/* A table's placeholder row. */
function note(message) {
	return E('em', {}, [ message ]);
}

/* LuCI appends a stack trace to its error messages (L.raise): the first line is the message. */
function errorText(error) {
	return String((error && error.message) || error).split('\n')[0];
}

/* A switch's value as '1' or '0' in any spelling the service reads; a missing option is on. */
function switchValue(value) {
	var key = String(value).toLowerCase();

	if (value == null || TRUE.indexOf(key) > -1)
		return '1';

	return (FALSE.indexOf(key) > -1) ? '0' : value;
}

/*
 * Save looks only at options the user changed. LuCI would parse and write what each widget
 * shows, which is not what the file says for a spelling it does not know ('on' shows as an
 * unchecked box), a zone it cannot list or a bad value, and refuse an empty one. A changed
 * option set back to what the file means is not written either.
 */
function writtenWhenChanged(o) {
	var base = Object.getPrototypeOf(o);

	o.parse = function(section_id) {
		var elem = this.getUIElement(section_id);
		return (elem && elem.isChanged()) ? base.parse.call(this, section_id) : Promise.resolve();
	};
	o.write = function(section_id, value) {
		if (value !== this.cfgvalue(section_id))
			return base.write.call(this, section_id, value);
	};
	return o;
}

/* A switch shows what any spelling means; off is written as '0', never as a deletion (a
 * missing option means on). */
function switchOption(o) {
	var base = Object.getPrototypeOf(o);

	o.cfgvalue = function(section_id) {
		return switchValue(base.cfgvalue.apply(this, arguments));
	};
	o.rmempty = false;
	return writtenWhenChanged(o);
}

function table(titles) {
	return E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) {
			return E('th', { 'class': 'th' }, [ t ]);
		}))
	]);
}

return view.extend({
	switchValue: switchValue,

	/* The router's clock in the browser's time zone; both sides run NTP on a real network. */
	formatTime: function(epoch) {
		if (epoch == null || isNaN(+epoch))
			return _('unknown');

		var d = new Date(+epoch * 1000);
		return '%d-%s-%s %s:%s:%s'.format(d.getFullYear(), pad(d.getMonth() + 1),
			pad(d.getDate()), pad(d.getHours()), pad(d.getMinutes()), pad(d.getSeconds()));
	},

	/* "6 (1.5 KiB)": packets, then bytes. */
	formatTraffic: function(counter) {
		var c = isObject(counter) ? counter : {};
		return '%d (%1024.1mB)'.format(+c.packets || 0, +c.bytes || 0);
	},

	lastApply: function(applied) {
		if (applied.at == null)
			return _('not yet');

		if (applied.ok === false)
			return _('%s, failed').format(this.formatTime(applied.at));

		return _('%s, done in %d ms').format(this.formatTime(applied.at), applied.ms);
	},

	moduleText: function(pptp) {
		var modules = isObject(pptp.modules) ? pptp.modules : {};

		if (!Object.keys(modules).length)
			return _('none reported');

		return Object.keys(modules).map(function(name) {
			var state = modules[name];

			if (state == 'missing')
				return pptp.package ? _('%s: missing (install %s)').format(name, pptp.package)
					: _('%s: missing').format(name);

			return '%s: %s'.format(name, MODULE_STATES[state] || String(state));
		}).join(', ');
	},

	/* One row: on a phone every value is shown under its title. */
	summaryRow: function(status) {
		var pptp = isObject(status.pptp) ? status.pptp : {},
		    devices = list(status.wan_devices);

		return [
			status.enabled ? _('Enabled') : _('Disabled'),
			devices.length ? devices.join(', ') : _('none'),
			status.ipv6 ? _('same switches as IPv4') : _('not covered, left to the firewall'),
			(pptp.helper == 'assigned') ? _('assigned to PPTP control connections')
				: _('not assigned'),
			this.moduleText(pptp),
			this.lastApply(isObject(status.applied) ? status.applied : {})
		];
	},

	/* A degraded protocol's own errors are its reason, said in its row. */
	ownErrors: function(status, name) {
		return list(status.errors).filter(function(e) {
			return isObject(e) && e.protocol == name;
		}).map(function(e) { return String(e.message); });
	},

	protocolRows: function(status) {
		return PROTOCOLS.map(L.bind(function(p) {
			var entry = isObject(status.protocols[p.name]) ? status.protocols[p.name] : {},
			    counters = isObject(entry.counters) ? entry.counters : {},
			    state = STATES[entry.state] || [ 'label', _('Unknown state "%s"').format(entry.state) ];

			return {
				label: state[0],
				reason: (entry.state == 'degraded') ? this.ownErrors(status, p.name).join('; ') : '',
				cells: [
					p.title,
					entry.enabled ? _('Enable') : _('Disable'),
					state[1],
					this.formatTraffic(counters.passed),
					this.formatTraffic(counters.blocked),
					String(+entry.tunnels || 0)
				]
			};
		}, this));
	},

	tunnelRows: function(status) {
		return list(status.tunnels).filter(isObject).map(L.bind(function(t) {
			var p = PROTOCOLS.filter(function(p) { return p.name == t.protocol; })[0];

			return [
				p ? p.title : String(t.protocol),
				String(t.client),
				String(t.server),
				t.nat ? String(t.nat) : _('not translated'),
				this.formatTime(t.since),
				this.formatTraffic(t),
				list(t.flows).join(', ')
			];
		}, this));
	},

	/* Errors and warnings above the tables, less a degraded protocol's own (its reason). */
	notices: function(status) {
		var notices = [];

		if (status.enabled === false)
			notices.push({ level: 'notice', text: _('VPN passthrough is disabled: the firewall alone decides what VPN traffic crosses the router, and the three switches have no effect.') });

		if (isObject(status.applied) && status.applied.ok === false)
			notices.push({ level: 'warning', text: _('The last change could not be applied; the settings before it stay in force.') });

		list(status.errors).filter(isObject).forEach(function(e) {
			var entry = status.protocols[e.protocol];
			if (!(isObject(entry) && entry.state == 'degraded'))
				notices.push({ level: 'error', text: String(e.message) });
		});

		list(status.warnings).filter(isObject).forEach(function(w) {
			notices.push({ level: 'warning', text: String(w.message) });
		});

		return notices;
	},

	/* What each switch lets through and what Disable does, as the service reports it. */
	descriptions: function(status) {
		var found = {};

		PROTOCOLS.forEach(function(p) {
			var covers = list(isObject(status.protocols[p.name]) && status.protocols[p.name].covers);

			found[p.name] = [
				p.description,
				covers.length ? _('Covers %s.').format(covers.join(', ')) : null,
				status.cut_on_disable
					? _('Disable drops it and ends running tunnels at once.')
					: _('Disable drops it; running tunnels stop passing traffic and end when they time out.')
			].filter(function(s) { return s != null; }).join(' ');
		});

		return found;
	},

	/* Everything the panel says, as text; `failure` (title, text) when there is no status. */
	panelModel: function(status) {
		if (!isObject(status) || !isObject(status.protocols))
			return { failure: [ _('No status from VPN passthrough'), (isObject(status) && status.error)
				? _('It refused the request: %s').format(String(status.error))
				: _('It answered without a status.') ] };

		return {
			failure: null,
			notices: this.notices(status),
			summary: this.summaryRow(status),
			protocols: this.protocolRows(status),
			tunnels: this.tunnelRows(status),
			tunnelsText: Array.isArray(status.tunnels)
				? _('No VPN tunnel crosses the router right now.') : _('Not reported.'),
			descriptions: this.descriptions(status)
		};
	},

	failureModel: function(error) {
		return { failure: [ _('VPN passthrough is not answering'), _('%s. Check that the vpnpassthrough package is installed, then restart rpcd: /etc/init.d/rpcd restart').format(errorText(error)) ] };
	},

	renderPanel: function() {
		this.panel = {
			notices: E('div', {}),
			summary: table([ _('VPN passthrough'), _('WAN devices'), _('Forwarded IPv6'),
			                 _('PPTP helper'), _('Helper modules'), _('Last apply') ]),
			protocols: table([ _('Protocol'), _('Switch'), _('State'), _('Passed packets (bytes)'),
			                   _('Blocked packets (bytes)'), _('Tunnels') ]),
			tunnels: table([ _('Protocol'), _('LAN client'), _('Server'), _('NAT address'),
			                 _('Since'), _('Packets (bytes)'), _('Flows') ])
		};

		[ 'summary', 'protocols', 'tunnels' ].forEach(L.bind(function(name) {
			cbi_update_table(this.panel[name], [], note(_('Collecting data…')));
		}, this));

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [ _('Status') ]),
			this.panel.notices,
			this.panel.summary,
			this.panel.protocols,
			E('h4', {}, [ _('Active tunnels') ]),
			this.panel.tunnels
		]);
	},

	updatePanel: function(m, model) {
		var failed = model.failure != null,
		    unknown = _('Unknown: see the message at the top of the page.');

		if (failed && !this.notification)
			this.notification = ui.addNotification(model.failure[0],
				E('p', {}, [ model.failure[1] ]), null, 'danger');
		else if (!failed && this.notification) {
			if (this.notification.parentNode)
				this.notification.parentNode.removeChild(this.notification);
			this.notification = null;
		}

		dom.content(this.panel.notices, failed ? [] : model.notices.map(function(n) {
			return E('div', { 'class': 'alert-message ' + n.level }, [ n.text ]);
		}));

		cbi_update_table(this.panel.summary, failed ? [] : [ model.summary.map(text) ],
			note(unknown));

		cbi_update_table(this.panel.protocols, failed ? [] : model.protocols.map(function(row) {
			var cells = row.cells.map(text);
			cells[2] = E('span', {}, [ E('span', { 'class': row.label }, [ row.cells[2] ]),
			                          row.reason ? ' ' + row.reason : '' ]);
			return cells;
		}), note(unknown));

		cbi_update_table(this.panel.tunnels, failed ? [] : model.tunnels.map(function(row) {
			return row.map(text);
		}), note(failed ? unknown : model.tunnelsText));

		if (!failed)
			this.switches.forEach(function(o) {
				var field = m.findElement('data-field', o.cbid('main')),
				    description = field && field.querySelector('.cbi-value-description');
				if (description)
					dom.content(description, [ model.descriptions[o.option] ]);
			});
	},

	refresh: function(m) {
		return callStatus(true).then(L.bind(this.panelModel, this), L.bind(this.failureModel, this))
			.then(L.bind(this.updatePanel, this, m));
	},

	/* The switches do nothing while VPN passthrough is off: greyed out, and kept as they are
	 * (on every render as the config says, in between as the checkbox does). */
	lockSwitches: function(m, locked) {
		this.switches.forEach(function(o) {
			var field = m.findElement('data-field', o.cbid('main'));
			(field ? field.querySelectorAll('input') : []).forEach(function(input) {
				input.disabled = locked;
			});
		});
	},

	render: function() {
		var m, s, o, panel;

		m = new form.Map('vpnpassthrough', _('VPN Passthrough'),
			_('Lets VPN clients on the LAN reach VPN servers on the Internet through this router, like the VPN passthrough switches of classic routers. Traffic to and from the router itself is never touched.'));

		s = m.section(form.NamedSection, 'main', 'vpnpassthrough');
		s.tab('general', _('Passthrough'));
		s.tab('advanced', _('Advanced Settings'));

		this.switches = PROTOCOLS.map(function(p) {
			o = switchOption(s.taboption('general', form.ListValue, p.name, p.switchTitle,
				p.description));
			o.widget = 'radio';
			o.value('1', _('Enable'));
			o.value('0', _('Disable'));
			Object.defineProperty(o, 'readonly', { get: function() {
				return (switchValue(uci.get('vpnpassthrough', 'main', 'enabled')) == '0') || null;
			} });
			return o;
		});

		o = switchOption(s.taboption('advanced', form.Flag, 'enabled', _('Enable VPN passthrough'),
			_('Off: VPN passthrough removes its firewall table, the firewall alone decides what VPN traffic crosses the router, and the three switches have no effect.')));
		o.onchange = L.bind(function(ev, section_id, value) {
			this.lockSwitches(m, value == '0');
		}, this);

		writtenWhenChanged(s.taboption('advanced', widgets.ZoneSelect, 'wan_zone', _('WAN zone'),
			_('The firewall zone whose devices are the WAN side; not used when WAN devices are given. A zone this page cannot list can be typed in.')));

		o = writtenWhenChanged(s.taboption('advanced', widgets.DeviceSelect, 'wan_device',
			_('WAN devices'), _('Explicit WAN devices; when set, they replace the devices of the WAN zone.')));
		o.multiple = true;
		o.noaliases = true;

		switchOption(s.taboption('advanced', form.Flag, 'ipv6', _('IPv6'),
			_('Apply the same switches to forwarded IPv6 traffic.')));

		switchOption(s.taboption('advanced', form.Flag, 'cut_on_disable', _('Cut tunnels on disable'),
			_('When a switch is set to Disable, end running tunnels of that protocol at once instead of letting them time out.')));

		/* One panel for the page's life: a Save renders the form again, not the panel. */
		panel = this.renderPanel();
		s = m.section(form.NamedSection, 'main', 'vpnpassthrough');
		s.render = function() { return panel; };

		return m.render().then(L.bind(function(nodes) {
			poll.add(L.bind(this.refresh, this, m), POLL_SECONDS);
			return nodes;
		}, this));
	}
});
