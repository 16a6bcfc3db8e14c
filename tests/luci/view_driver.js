/*
 * Runs the LuCI view under node on the stand-in (luci_standin.js) and prints, as one JSON
 * object, what the tests assert on.
 *
 *   node view_driver.js VIEW_JS INPUT_JSON
 *
 * INPUT_JSON (written by test_luci_view.py):
 *   values     `uci get` values of the page's config for the scenarios
 *   scenarios  {name: {"reply": status} | {"error": message} | {"hang": true}}, each with
 *              its own `values` when the page's config differs
 *   saves      [{name, values, changes: [[option, value], ...], status}]
 *   spellings  strings to read as switch values
 *
 * Each scenario renders the whole page, lets the first poll answer and reports the panel's
 * model, its tables as cbi_update_table filled them (data-title and text of each cell), its
 * notices, the notifications, the switches' descriptions, and every string that went into the
 * page as HTML. Each save renders the page, makes the changes as a user would and reports the
 * uci calls Save sends.
 */
'use strict';

const fs = require('fs');
const standin = require('./luci_standin.js');

const [ viewPath, inputPath ] = process.argv.slice(2);
const source = fs.readFileSync(viewPath, 'utf8');
const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const BOUND_MS = 5000;  /* a render or a poll that never settles is reported, not waited for */

function rpcError(message) {
	const e = new Error(message);
	e.name = 'RPCError';
	return e;
}

function answer(spec) {
	if (spec.hang)
		return standin.HANG;
	return ('error' in spec) ? rpcError(spec.error) : spec.reply;
}

function settled(promise) {
	return Promise.race([
		promise.then(() => true),
		new Promise(resolve => setTimeout(() => resolve(false), BOUND_MS))
	]);
}

/* Every string that went into these nodes as HTML. */
function markup(nodes) {
	const found = [];
	(function walk(node) {
		if (node.isMarkup)
			found.push(node.text);
		node.childNodes.forEach(walk);
	})({ childNodes: nodes });
	return found;
}

function rows(tableNode) {
	return tableNode.querySelectorAll('tr').slice(1).map(tr => ({
		placeholder: tr.getAttribute('class') == 'tr placeholder',
		cells: tr.querySelectorAll('td').map(td => ({
			title: td.getAttribute('data-title'), text: td.textContent,
			labels: td.querySelectorAll('span').map(s => s.getAttribute('class')).filter(Boolean)
		}))
	}));
}

function options(map) {
	return [].concat(...map.children.map(s => s.children || [])).filter(o => o.option);
}

async function page(values, status) {
	const loaded = standin.loadView(source), mods = loaded.modules;
	mods.uci.values.vpnpassthrough = values;
	mods.rpcTable['vpnpassthrough.status'] = status;
	const view = new loaded.View();
	await view.load();
	let root = null;
	const rendered = await settled(view.render().then(node => { root = node; }));
	return { loaded, mods, view, root, rendered };
}

async function scenario(spec) {
	const { mods, view, root, rendered } = await page(spec.values || input.values, answer(spec));
	const out = { rendered };
	if (!rendered)
		return out;
	out.answered = await settled(mods.poll.running);
	const map = mods.maps[0];
	out.model = ('reply' in spec) ? view.panelModel(spec.reply)
		: ('error' in spec) ? view.failureModel(rpcError(spec.error)) : null;
	out.tables = { summary: rows(view.panel.summary), protocols: rows(view.panel.protocols),
	               tunnels: rows(view.panel.tunnels) };
	out.notices = view.panel.notices.children.map(n => ({ class: n.getAttribute('class'),
	                                                      text: n.textContent }));
	out.notifications = mods.notifications.map(n => ({ class: n.getAttribute('class'),
	                                                   text: n.textContent }));
	out.descriptions = {};
	out.locked = {};
	view.switches.forEach(o => {
		const field = map.findElement('data-field', o.cbid('main'));
		out.descriptions[o.option] = field.querySelector('.cbi-value-description').textContent;
		out.locked[o.option] = field.querySelectorAll('input').map(i => i.disabled);
	});
	out.page = root.textContent;
	out.markup = markup([ root, mods.maincontent ]);
	out.calls = mods.rpcCalls.filter(c => c.object == 'vpnpassthrough');
	return out;
}

/* The first answer, then five seconds of polling with another reply. */
async function cycle(first, second) {
	const { mods, view } = await page(input.values, first);
	await mods.poll.running;
	const before = rows(view.panel.protocols);
	mods.rpcTable['vpnpassthrough.status'] = second;
	const seconds = [];
	for (let i = 0; i < 10; i++) {
		mods.poll.step();
		await mods.poll.running;
		seconds.push(mods.rpcCalls.length);
	}
	return { before, after: rows(view.panel.protocols), callsAfterEachSecond: seconds,
	         calls: mods.rpcCalls };
}

async function save(spec) {
	const { mods } = await page(spec.values, spec.status);
	await mods.poll.running;
	const found = options(mods.maps[0]), refused = [];
	for (const [ option, value ] of spec.changes)
		if (!found.find(o => o.option == option).uiElement.change(value))
			refused.push(option);
	/* A Save form.js refuses is reported as the error the user would see. */
	return mods.maps[0].save().then(calls => ({ refused, calls }),
	                               e => ({ refused, calls: [], error: String(e.message) }));
}

function describeForm(map) {
	return {
		config: map.config, title: map.title, description: map.description,
		sections: map.children.map(s => ({
			name: s.name, type: s.sectiontype, tabs: s.tabs,
			options: s.children.map(o => ({
				option: o.option, kind: o.__name__, tab: o.tab, title: o.title,
				description: o.description, rmempty: o.rmempty, optional: o.optional,
				widget: o.widget || null, choices: (o.keylist || []).map((k, i) => [ k, o.vallist[i] ]),
				multiple: !!o.multiple, nocreate: o.nocreate || null, readonly: o.readonly || null,
				hooks: [ 'cfgvalue', 'parse', 'write' ].filter(m => o.hasOwnProperty(m))
			}))
		}))
	};
}

async function main() {
	const out = { scenarios: {}, saves: {} };

	for (const [ name, spec ] of Object.entries(input.scenarios))
		out.scenarios[name] = await scenario(spec);

	for (const spec of input.saves)
		out.saves[spec.name] = await save(spec);

	out.cycle = await cycle(input.scenarios.all_passing.reply, input.scenarios.pptp_blocked.reply);

	const { View, modules, requires } = standin.loadView(source);
	out.switchValues = {};
	for (const spelling of input.spellings)
		out.switchValues[spelling] = View.prototype.switchValue(spelling);
	out.switchValues['(missing)'] = View.prototype.switchValue(null);
	out.traffic = [ 0, 1023, 1536, 5.5 * 1048576, 3 * 1099511627776 ].map(
		n => View.prototype.formatTraffic({ packets: 7, bytes: n }));

	const { view } = await page(input.values, input.scenarios.all_passing.reply);
	out.requires = requires;
	out.declared = modules.declared;
	out.form = describeForm(view.switches[0].map);

	/* exit once written: a hung call leaves a pending promise (and a timer) behind */
	process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

main().catch(e => {
	process.stderr.write((e && e.stack) || String(e));
	process.exit(1);
});
