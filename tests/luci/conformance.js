/*
 * Probes of what the stand-in imitates: E(), dom.append/content, cbi_update_table() and
 * String.prototype.format. test_luci_browser.py runs them in Chromium once with LuCI's own
 * luci.js/cbi.js/ui.js and once with the stand-in (both on the real document) and compares
 * the HTML; test_luci_view.py runs them under node on the stand-in's own document.
 *
 * luciProbes(lib, browser) → {name: node or string}; lib: { E, dom, cbi_update_table,
 * format(fmt, args) }. Probes that need an HTML parser run only when `browser` is set.
 */
(function(root) {
	'use strict';

	function luciProbes(lib, browser) {
		var E = lib.E, dom = lib.dom, out = {};

		function table() {
			return E('table', { 'class': 'table' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, [ 'Name' ]), E('th', { 'class': 'th' }, [ 'Value' ])
				])
			]);
		}

		out.bare_string_is_markup = E('p', {}, '<b>bold</b> & <i>x</i>');
		out.array_strings_are_text = E('p', {}, [ '<b>bold</b>', null, 7, E('em', {}, [ 'e' ]) ]);
		out.element_child = E('p', {}, E('em', {}, [ 'x' ]));
		out.element_where_attributes_go = E('p', E('em', {}, [ 'x' ]));
		out.string_where_attributes_go = E('p', 'a <b>b</b>');
		out.attributes = E('p', { 'class': 'a b', 'data-x': { k: [ 1 ] }, 'skip': null, 'n': 5,
		                          'click': function() {} }, [ 'x' ]);
		out.fragment = E('div', {}, [ E([ 'p', 'em' ]) ]);
		out.content_string = dom.content(E('div', {}, [ 'old' ]), 'a<b>c</b>').parentNode;
		out.content_array = dom.content(E('div', {}, [ 'old' ]), [ 'a<b>c</b>' ]).parentNode;
		out.append_function = E('div', {}, function(node) { return [ node.tagName, '<i>' ]; });
		if (browser)
			out.parsed_markup = E('<div class="x"><b>y</b></div>', {}, [ 'z' ]);

		var t = table();
		lib.cbi_update_table(t, [
			[ '<b>markup</b>', E('span', {}, [ '<b>text</b>' ]) ],
			[ [ 'raw', 'shown' ], null ],
			[ 7 ]
		], E('em', {}, [ 'nothing' ]));
		out.table_rows = t;

		t = table();
		lib.cbi_update_table(t, [ [ 'a', 'b' ], [ 'c', 'd' ] ]);
		lib.cbi_update_table(t, [ [ 'e', 'f' ] ], E('em', {}, [ 'nothing' ]));
		out.table_updated = t;

		t = table();
		lib.cbi_update_table(t, [ [ 'a', 'b' ] ]);
		lib.cbi_update_table(t, [], E('em', {}, [ 'no <rows>' ]));
		out.table_emptied = t;

		t = table();
		lib.cbi_update_table(t, [], 'placeholder <b>markup</b>');
		out.table_string_placeholder = t;

		out.format = lib.format('%s|%s|%d|%d|%d|%%|%1024.1mB|%1024.1mB|%1024.1mB|%1024.1mB|%s', [
			'a<', null, '7.9', 'x', -2.5, 0, 1023, 1536, 3 * 1099511627776, 'end' ]);

		return out;
	}

	if (typeof module !== 'undefined' && module.exports)
		module.exports = luciProbes;
	else
		root.luciProbes = luciProbes;
})(this);
