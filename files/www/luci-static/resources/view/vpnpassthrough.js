'use strict';
'require view';
'require form';
'require rpc';
'require poll';
'require dom';
'require tools.widgets as widgets';

/*
 * Services → VPN Passthrough: the three switches of a classic router, the agent's advanced
 * options, and a live panel fed by the agent's ubus object (`vpnpassthrough status|tunnels`).
 *
 * The panel is built in two steps so that tests can drive the words without a browser:
 * panelModel() turns the replies into plain rows of text, renderPanel() turns rows into DOM.
 */

var POLL_SECONDS = 5;
var MODULE_PACKAGE = 'kmod-nf-nathelper-extra';

var callStatus = rpc.declare({
	object: 'vpnpassthrough',
	method: 'status',
	expect: { '': {} },
	reject: true
});

var callTunnels = rpc.declare({
	object: 'vpnpassthrough',
	method: 'tunnels',
	expect: { '': {} },
	reject: true
});

var PROTOCOLS = [
	{
		name: 'ipsec',
		title: _('IPsec'),
		switchTitle: _('IPsec Passthrough'),
		description: _('Lets IKE (UDP 500), NAT-T (UDP 4500), ESP and AH through to VPN servers outside. Disable: they are dropped and running IPsec tunnels are cut.')
	},
	{
		name: 'pptp',
		title: _('PPTP'),
		switchTitle: _('PPTP Passthrough'),
		description: _('Lets PPTP (TCP 1723 and GRE) through, with the PPTP helper so that several LAN clients can reach one server. Disable: they are dropped and running PPTP tunnels are cut.')
	},
	{
		name: 'l2tp',
		title: _('L2TP'),
		switchTitle: _('L2TP Passthrough'),
		description: _('Lets L2TP (UDP 1701) through; L2TP/IPsec also needs IPsec Passthrough. Disable: it is dropped and running L2TP tunnels are cut.')
	}
];

var MODULE_STATES = {
	loaded: _('loaded'),
	builtin: _('built into the kernel'),
	available: _('installed, not loaded'),
	missing: _('missing (install %s)').format(MODULE_PACKAGE),
	busy: _('in use elsewhere, left loaded')
};

function protocolTitle(name) {
	for (var i = 0; i < PROTOCOLS.length; i++)
		if (PROTOCOLS[i].name == name)
			return PROTOCOLS[i].title;
	return String(name);
}

function settle(promise) {
	return promise.then(function(reply) {
		return { reply: reply };
	}, function(error) {
		return { error: error };
	});
}

function isObject(value) {
	return value != null && typeof(value) == 'object' && !Array.isArray(value);
}

function pad(n) {
	return (n < 10 ? '0' : '') + n;
}

return view.extend({
	load: function() {
		return this.fetchState();
	},

	/* Both replies, each either {reply} or {error}: a failing call never rejects the page. */
	fetchState: function() {
		return Promise.all([ settle(callStatus()), settle(callTunnels()) ]).then(function(r) {
			return { status: r[0], tunnels: r[1] };
		});
	},

	formatBytes: function(bytes) {
		var units = [ 'B', 'KiB', 'MiB', 'GiB', 'TiB' ], value = +bytes || 0, i = 0;

		while (value >= 1024 && i < units.length - 1) {
			value /= 1024;
			i++;
		}

		return (i == 0 ? String(value) : value.toFixed(1)) + ' ' + units[i];
	},

	/* "6 (198 B)": packets, then bytes. */
	formatTraffic: function(counter) {
		var c = isObject(counter) ? counter : {};
		return '%d (%s)'.format(+c.packets || 0, this.formatBytes(c.bytes));
	},

	/* The router's clock in the browser's time zone; both sides run NTP on a real network. */
	formatTime: function(epoch) {
		if (epoch == null || isNaN(+epoch))
			return _('unknown');

		var d = new Date(+epoch * 1000);
		return '%d-%s-%s %s:%s:%s'.format(d.getFullYear(), pad(d.getMonth() + 1),
			pad(d.getDate()), pad(d.getHours()), pad(d.getMinutes()), pad(d.getSeconds()));
	},

	/* Why a protocol is degraded: its own errors first, else the agent's general ones. */
	degradedReason: function(status, name) {
		var errors = Array.isArray(status.errors) ? status.errors : [],
		    own = errors.filter(function(e) { return isObject(e) && e.protocol == name; }),
		    general = errors.filter(function(e) { return isObject(e) && !e.protocol; }),
		    chosen = own.length ? own : general;

		if (!chosen.length)
			return _('something it needs is missing');

		return chosen.map(function(e) { return String(e.message); }).join('; ');
	},

	stateText: function(status, name) {
		var state = isObject(status.protocols) && isObject(status.protocols[name])
			? status.protocols[name].state : null;

		switch (state) {
		case 'passing':
			return _('Passing');
		case 'blocked':
			return _('Blocked (switched off)');
		case 'degraded':
			return _('Degraded: %s').format(this.degradedReason(status, name));
		case 'inactive':
			return _('Inactive (VPN passthrough is disabled)');
		default:
			return _('Unknown state "%s"').format(String(state));
		}
	},

	protocolRows: function(status) {
		return PROTOCOLS.map(L.bind(function(p) {
			var entry = isObject(status.protocols) && isObject(status.protocols[p.name])
				? status.protocols[p.name] : {},
			    counters = isObject(entry.counters) ? entry.counters : {};

			return {
				name: p.name,
				state: entry.state || 'unknown',
				cells: [
					p.title,
					this.stateText(status, p.name),
					this.formatTraffic(counters.passed),
					this.formatTraffic(counters.blocked),
					String(+entry.tunnels || 0)
				]
			};
		}, this));
	},

	moduleText: function(modules) {
		var names = isObject(modules) ? Object.keys(modules) : [];

		if (!names.length)
			return _('none reported');

		return names.map(function(name) {
			return '%s: %s'.format(name, MODULE_STATES[modules[name]] || String(modules[name]));
		}).join(', ');
	},

	summaryRows: function(status) {
		var applied = isObject(status.applied) ? status.applied : {},
		    pptp = isObject(status.pptp) ? status.pptp : {},
		    devices = Array.isArray(status.wan_devices) ? status.wan_devices : [],
		    last;

		if (applied.at == null)
			last = _('never');
		else if (applied.ok === false)
			last = _('%s: failed, the settings before it stay in force').format(this.formatTime(applied.at));
		else
			last = _('%s: done in %d ms').format(this.formatTime(applied.at), +applied.ms || 0);

		return [
			[ _('VPN passthrough'), status.enabled ? _('Enabled') : _('Disabled') ],
			[ _('WAN devices'), devices.length ? devices.join(', ')
				: _('none known: the switches apply to all forwarded traffic') ],
			[ _('PPTP helper'), pptp.helper == 'assigned'
				? _('assigned to PPTP control connections') : _('not assigned') ],
			[ _('Helper modules'), this.moduleText(pptp.modules) ],
			[ _('Last apply'), last ]
		];
	},

	/* Errors and warnings, less those already given as a degraded protocol's reason. */
	problemRows: function(status) {
		var rows = [], protocols = isObject(status.protocols) ? status.protocols : {};

		(Array.isArray(status.errors) ? status.errors : []).forEach(function(e) {
			if (isObject(e) && isObject(protocols[e.protocol]) &&
			    protocols[e.protocol].state == 'degraded')
				return;
			rows.push({ level: 'error', text: isObject(e) ? String(e.message) : String(e) });
		});
		(Array.isArray(status.warnings) ? status.warnings : []).forEach(function(w) {
			rows.push({ level: 'warning', text: isObject(w) ? String(w.message) : String(w) });
		});

		return rows;
	},

	tunnelRows: function(reply) {
		var rows = isObject(reply) && Array.isArray(reply.tunnels) ? reply.tunnels : [];

		return rows.filter(isObject).map(L.bind(function(t) {
			return [
				protocolTitle(t.protocol),
				String(t.client),
				String(t.server),
				t.nat ? String(t.nat) : _('not translated'),
				this.formatTime(t.since),
				this.formatTraffic(t),
				Array.isArray(t.flows) ? t.flows.join(', ') : ''
			];
		}, this));
	},

	errorText: function(error) {
		return (error && error.message) ? String(error.message) : String(error);
	},

	/*
	 * Everything the panel says, as text: notice (a sentence above everything, or null),
	 * summary and protocol rows, problems (errors and warnings), tunnels (rows, or a sentence
	 * saying why there are none).
	 */
	panelModel: function(state) {
		var model = { notice: null, summary: [], protocols: [], problems: [],
		              tunnels: [], tunnelsText: null },
		    status = state.status.reply;

		if (state.status.error) {
			model.notice = { level: 'error', text: _('The VPN passthrough agent is not answering (%s). Check that the vpnpassthrough package is installed and that rpcd has been restarted since: /etc/init.d/rpcd restart').format(this.errorText(state.status.error)) };
			return model;
		}

		if (!isObject(status) || !isObject(status.protocols)) {
			model.notice = { level: 'error', text: isObject(status) && status.error
				? _('The VPN passthrough agent refused the status call: %s').format(String(status.error))
				: _('The VPN passthrough agent answered without a status.') };
			return model;
		}

		if (!status.enabled)
			model.notice = { level: 'notice', text: _('VPN passthrough is disabled: the agent stands aside and the firewall alone decides what VPN traffic crosses the router.') };
		else if (isObject(status.applied) && status.applied.ok === false)
			model.notice = { level: 'warning', text: _('The last change could not be applied; the settings before it stay in force. See the errors below.') };

		model.summary = this.summaryRows(status);
		model.protocols = this.protocolRows(status);
		model.problems = this.problemRows(status);

		if (state.tunnels.error)
			model.tunnelsText = _('Active tunnels are unknown: %s').format(this.errorText(state.tunnels.error));
		else if (isObject(state.tunnels.reply) && state.tunnels.reply.error)
			model.tunnelsText = _('Active tunnels are unknown: %s').format(String(state.tunnels.reply.error));
		else
			model.tunnels = this.tunnelRows(state.tunnels.reply);

		if (!model.tunnelsText && !model.tunnels.length)
			model.tunnelsText = _('No VPN tunnel crosses the router right now.');

		return model;
	},

	renderTable: function(titles, rows) {
		return E('table', { 'class': 'table' }, [
			E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) {
				return E('th', { 'class': 'th' }, t);
			}))
		].concat(rows.map(function(row) {
			return E('tr', { 'class': 'tr' }, row.map(function(cell) {
				return E('td', { 'class': 'td' }, cell);
			}));
		})));
	},

	renderPanel: function(model) {
		var colors = { passing: '#2e7d32', blocked: '#6d6d6d', degraded: '#c77700',
		               inactive: '#6d6d6d' },
		    nodes = [];

		if (model.notice)
			nodes.push(E('div', { 'class': 'alert-message ' + model.notice.level }, model.notice.text));

		if (model.summary.length)
			nodes.push(E('table', { 'class': 'table' }, model.summary.map(function(row) {
				return E('tr', { 'class': 'tr' }, [
					E('td', { 'class': 'td left', 'width': '33%' }, E('strong', {}, row[0])),
					E('td', { 'class': 'td left' }, row[1])
				]);
			})));

		if (model.protocols.length)
			nodes.push(this.renderTable(
				[ _('Protocol'), _('State'), _('Passed packets (bytes)'),
				  _('Blocked packets (bytes)'), _('Tunnels') ],
				model.protocols.map(function(row) {
					var cells = row.cells.slice();
					cells[1] = E('span', { 'data-state': row.state,
						'style': 'font-weight:bold;color:' + (colors[row.state] || 'inherit') }, cells[1]);
					return cells;
				})));

		model.problems.forEach(function(p) {
			nodes.push(E('div', { 'class': 'alert-message ' + p.level }, p.text));
		});

		if (model.protocols.length) {
			nodes.push(E('h4', {}, _('Active tunnels')));
			nodes.push(model.tunnels.length
				? this.renderTable([ _('Protocol'), _('LAN client'), _('Server'), _('NAT address'),
				                     _('Since'), _('Packets (bytes)'), _('Flows') ], model.tunnels)
				: E('p', {}, E('em', {}, model.tunnelsText)));
		}

		return E('div', { 'class': 'vpnpassthrough-panel' }, nodes);
	},

	updatePanel: function(container, state) {
		dom.content(container, this.renderPanel(this.panelModel(state)));
	},

	render: function(state) {
		var m, s, o, panel;

		m = new form.Map('vpnpassthrough', _('VPN Passthrough'),
			_('Lets VPN clients on the LAN reach VPN servers on the Internet through this router, like the VPN passthrough switches of classic routers. Traffic to and from the router itself is never touched.'));

		s = m.section(form.NamedSection, 'main', 'vpnpassthrough');
		s.addremove = false;
		s.tab('general', _('Passthrough'));
		s.tab('advanced', _('Advanced Settings'));

		PROTOCOLS.forEach(function(p) {
			o = s.taboption('general', form.ListValue, p.name, p.switchTitle, p.description);
			o.widget = 'radio';
			o.orientation = 'horizontal';
			o.value('1', _('Enable'));
			o.value('0', _('Disable'));
			o.default = '1';
			o.rmempty = false;
		});

		o = s.taboption('advanced', form.Flag, 'enabled', _('Enable VPN passthrough'),
			_('Off: the agent removes its firewall table and stands aside; the firewall alone decides what VPN traffic crosses the router.'));
		o.default = '1';
		o.rmempty = false;

		o = s.taboption('advanced', widgets.ZoneSelect, 'wan_zone', _('WAN zone'),
			_('The firewall zone whose devices are the WAN side. Used when no WAN device is given.'));
		o.nocreate = true;
		o.default = 'wan';
		o.rmempty = false;

		o = s.taboption('advanced', widgets.DeviceSelect, 'wan_device', _('WAN devices'),
			_('Explicit WAN devices; when set, they replace the devices of the WAN zone.'));
		o.multiple = true;
		o.noaliases = true;

		o = s.taboption('advanced', form.Flag, 'ipv6', _('IPv6'),
			_('Apply the same switches to forwarded IPv6 traffic.'));
		o.default = '1';
		o.rmempty = false;

		o = s.taboption('advanced', form.Flag, 'cut_on_disable', _('Cut tunnels on disable'),
			_('When a switch is set to Disable, end running tunnels of that protocol at once instead of letting them time out.'));
		o.default = '1';
		o.rmempty = false;

		panel = E('div', { 'id': 'vpnpassthrough-status' });
		this.updatePanel(panel, state);

		s = m.section(form.NamedSection, 'main', 'vpnpassthrough', _('Status'));
		s.render = function() {
			return E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Status')), panel ]);
		};

		return m.render().then(L.bind(function(nodes) {
			poll.add(L.bind(function() {
				return this.fetchState().then(L.bind(this.updatePanel, this, panel));
			}, this), POLL_SECONDS);
			return nodes;
		}, this));
	}
});
