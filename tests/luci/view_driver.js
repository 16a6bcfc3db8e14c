/*
 * Runs the LuCI view under node with the stand-in modules and prints, as one JSON object,
 * what the tests assert on: the view's requires and rpc declarations, the form it declares,
 * its poll, and for every scenario the panel's words (panelModel) and the rendered panel text.
 *
 *   node view_driver.js VIEW_JS REPLIES_DIR
 *
 * Scenarios: every recorded reply file (replies/NAME.json: {status, tunnels}), plus two the
 * agent cannot record because it does not answer: "agent_not_answering" (both calls reject
 * with LuCI's RPCError, as when the ubus object is missing), "agent_silent" (a reply with no
 * data, which LuCI's expect rule turns into {}) and "tunnels_failing" (status answers, the
 * tunnels call fails).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const standin = require('./luci_standin.js');

const [ viewPath, repliesDir ] = process.argv.slice(2);
const source = fs.readFileSync(viewPath, 'utf8');

function rpcError(method) {
	const e = new Error('RPC call to vpnpassthrough/' + method +
		' failed with ubus code 4: Resource not found');
	e.name = 'RPCError';
	return e;
}

const scenarios = {};
for (const file of fs.readdirSync(repliesDir).sort())
	if (file.endsWith('.json'))
		scenarios[path.basename(file, '.json')] =
			JSON.parse(fs.readFileSync(path.join(repliesDir, file), 'utf8'));
scenarios.agent_not_answering = { status: rpcError('status'), tunnels: rpcError('tunnels') };
scenarios.agent_silent = { status: 0, tunnels: 0 };
scenarios.tunnels_failing = { status: scenarios.all_passing.status, tunnels: rpcError('tunnels') };

function answer(mods, replies) {
	mods.rpcTable['vpnpassthrough.status'] = replies.status;
	mods.rpcTable['vpnpassthrough.tunnels'] = replies.tunnels;
}

function describeForm(map) {
	return {
		config: map.config,
		title: map.title,
		description: map.description,
		sections: map.sections.map(s => ({
			name: s.name,
			type: s.sectiontype,
			title: s.title || null,
			tabs: s.tabs,
			options: s.options.map(o => ({
				option: o.option, kind: o.kind, tab: o.tab, title: o.title,
				description: o.description, rmempty: o.rmempty, default: o.default,
				widget: o.widget || null, choices: o.choices, multiple: !!o.multiple
			}))
		}))
	};
}

async function main() {
	const out = { models: {}, panels: {} };

	for (const [ name, replies ] of Object.entries(scenarios)) {
		const { View, modules } = standin.loadView(source);
		answer(modules, replies);
		const view = new View();
		const model = view.panelModel(await view.load());
		out.models[name] = model;
		out.panels[name] = view.renderPanel(model).textContent;
	}

	const { View: Formatter } = standin.loadView(source);
	out.bytes = [ 0, 1023, 1024, 1536, 5.5 * 1048576, 3 * 1099511627776 ]
		.map(n => Formatter.prototype.formatBytes(n));

	/* The whole page once: declared form, rpc, poll; then one poll round with new replies. */
	const { View, modules, requires } = standin.loadView(source);
	answer(modules, scenarios.all_passing);
	const view = new View();
	const page = await view.render(await view.load());
	out.requires = requires;
	out.declared = modules.declared;
	out.form = describeForm(modules.maps[0]);
	out.polls = modules.polls.map(p => p.interval);
	out.pageBefore = page.textContent;
	answer(modules, scenarios.pptp_blocked);
	await modules.polls[0].fn();
	out.pageAfterPoll = page.textContent;

	process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch(e => {
	process.stderr.write((e && e.stack) || String(e));
	process.exit(1);
});
