/*
 * A thin stand-in for the parts of LuCI that the VPN passthrough view uses.
 *
 * LuCI itself (luci-base's luci.js, form.js, rpc.js, ...) is not installable here, so the tests
 * evaluate the view the way luci.js does and hand it these modules instead:
 *
 *   - loadView() reads the leading 'require NAME' / 'require NAME as ALIAS' string statements
 *     as luci.js's compileClass does, and runs the source as the body of
 *     function(window, document, L, <one argument per require>), with _() and E() as globals.
 *   - view.extend() returns a class whose prototype holds the view's methods; nothing is
 *     instantiated behind the test's back (LuCI would call load() then render()).
 *   - form records what the view declares (sections, tabs, options, their properties) and
 *     renders it as plain headings, not LuCI's widgets.
 *   - rpc.declare() answers from a table the test fills: a reply object, or an Error that the
 *     call rejects with (LuCI rejects with an RPCError when declared with reject: true). The
 *     `expect` rule is LuCI's: a reply of the wrong type becomes the expected default.
 *   - poll.add() records the function and interval; the test calls it.
 *   - _() returns its argument; String.prototype.format knows %s, %d and %% only, so a view
 *     that needs more of LuCI's format() fails here instead of silently printing wrong text.
 *   - E() and dom.content() follow luci.js's dom.create/append; under node they build on a
 *     minimal document (tag, attributes, children, textContent), in a browser on the real one.
 *
 * Works under node (require()) and in a browser (window.LuCIStandin).
 */
(function(root) {
	'use strict';

	function FakeNode(tag, text) {
		this.tagName = tag ? tag.toUpperCase() : null;
		this.nodeType = tag ? 1 : 3;
		this.text = text || '';
		this.attributes = {};
		this.childNodes = [];
		this.listeners = {};
	}

	FakeNode.prototype = {
		appendChild: function(child) {
			if (child.tagName === '#FRAGMENT') {
				child.childNodes.forEach(function(c) { this.childNodes.push(c); }, this);
				child.childNodes = [];
			}
			else {
				this.childNodes.push(child);
			}
			return child;
		},
		removeChild: function(child) {
			this.childNodes.splice(this.childNodes.indexOf(child), 1);
			return child;
		},
		get firstChild() { return this.childNodes[0] || null; },
		get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; },
		setAttribute: function(key, value) { this.attributes[key] = String(value); },
		getAttribute: function(key) {
			return key in this.attributes ? this.attributes[key] : null;
		},
		addEventListener: function(name, fn) { this.listeners[name] = fn; },
		querySelectorAll: function() { return []; },
		set innerHTML(html) { this.childNodes = [ new FakeNode(null, html) ]; },
		get textContent() {
			if (this.nodeType === 3)
				return this.text;
			return this.childNodes.map(function(c) { return c.textContent; }).join('');
		}
	};

	var fakeDocument = {
		createElement: function(tag) { return new FakeNode(tag); },
		createTextNode: function(text) { return new FakeNode(null, text); },
		createDocumentFragment: function() { return new FakeNode('#fragment'); }
	};

	function documentOf() {
		return (typeof document !== 'undefined') ? document : fakeDocument;
	}

	function isElem(e) {
		return e != null && typeof(e) == 'object' && 'nodeType' in e;
	}

	var dom = {
		elem: isElem,
		append: function(node, children) {
			if (Array.isArray(children)) {
				children.forEach(function(c) {
					if (isElem(c))
						node.appendChild(c);
					else if (c != null)
						node.appendChild(documentOf().createTextNode(String(c)));
				});
			}
			else if (isElem(children)) {
				node.appendChild(children);
			}
			else if (children != null) {
				node.appendChild(documentOf().createTextNode(String(children)));
			}
			return node.lastChild;
		},
		content: function(node, children) {
			while (node.firstChild)
				node.removeChild(node.firstChild);
			return dom.append(node, children);
		}
	};

	/* luci.js's dom.create without HTML parsing: text children are text, never markup. */
	function E(html, attr, data) {
		var elem;

		if (!(attr instanceof Object) || Array.isArray(attr) || isElem(attr))
			data = attr, attr = null;

		if (Array.isArray(html)) {
			elem = documentOf().createDocumentFragment();
			html.forEach(function(h) { elem.appendChild(E(h)); });
		}
		else if (isElem(html)) {
			elem = html;
		}
		else {
			elem = documentOf().createElement(html);
		}

		for (var key in (attr || {})) {
			if (attr[key] == null)
				continue;
			if (typeof(attr[key]) == 'function')
				elem.addEventListener(key, attr[key]);
			else if (typeof(attr[key]) == 'object')
				elem.setAttribute(key, JSON.stringify(attr[key]));
			else
				elem.setAttribute(key, attr[key]);
		}

		dom.append(elem, data);
		return elem;
	}

	function format() {
		var args = Array.prototype.slice.call(arguments), i = 0;
		return String(this).replace(/%([%sd]|.)/g, function(m, conv) {
			if (conv == '%')
				return '%';
			if (conv == 's')
				return String(args[i++]);
			if (conv == 'd')
				return (Math.floor(+args[i++] || 0)).toFixed(0);
			throw new Error('stand-in format() does not know %' + conv);
		});
	}

	function extend(base, props) {
		function Class() {}
		Class.prototype = Object.create(base.prototype);
		for (var key in props)
			Class.prototype[key] = props[key];
		Class.extend = function(more) { return extend(Class, more); };
		return Class;
	}

	function Base() {}
	Base.extend = function(props) { return extend(Base, props); };

	function modules() {
		var rpcTable = {}, declared = [], polls = [], maps = [];

		function Option(map, section, option, title, description) {
			this.map = map;
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.choices = [];
			this.deps = [];
			this.rmempty = true;
			this.default = null;
		}
		Option.prototype.value = function(key, title) { this.choices.push([ key, title ]); };
		Option.prototype.depends = function(field, value) { this.deps.push([ field, value ]); };

		function optionClass(kind, defaults) {
			function Kind() {
				Option.apply(this, arguments);
				for (var key in defaults || {})
					this[key] = defaults[key];
				this.kind = kind;
			}
			Kind.prototype = Object.create(Option.prototype);
			return Kind;
		}

		function Section(map, name, type, title) {
			this.map = map;
			this.name = name;
			this.sectiontype = type;
			this.title = title;
			this.tabs = [];
			this.options = [];
		}
		Section.prototype = {
			tab: function(name, title) { this.tabs.push({ name: name, title: title }); },
			option: function(cls) {
				var o = new cls(this.map, this, arguments[1], arguments[2], arguments[3]);
				this.options.push(o);
				return o;
			},
			taboption: function(tab) {
				if (!this.tabs.some(function(t) { return t.name == tab; }))
					throw new Error('tab ' + tab + ' not declared');
				var o = this.option.apply(this, Array.prototype.slice.call(arguments, 1));
				o.tab = tab;
				return o;
			},
			render: function() {
				return E('div', { 'class': 'cbi-section' }, this.options.map(function(o) {
					return E('div', { 'class': 'cbi-value' }, o.title);
				}));
			}
		};

		function Map(config, title, description) {
			this.config = config;
			this.title = title;
			this.description = description;
			this.sections = [];
			maps.push(this);
		}
		Map.prototype = {
			section: function(cls, name, type, title) {
				var s = new cls(this, name, type, title);
				this.sections.push(s);
				return s;
			},
			render: function() {
				var self = this;
				return Promise.all(this.sections.map(function(s) { return s.render(); }))
					.then(function(nodes) {
						return E('div', { 'class': 'cbi-map' },
							[ E('h2', {}, self.title), E('div', {}, self.description) ].concat(nodes));
					});
			}
		};

		var rpc = {
			declare: function(opts) {
				declared.push(opts);
				return function() {
					var key = opts.object + '.' + opts.method,
					    answer = rpcTable[key];
					if (answer instanceof Error)
						return Promise.reject(answer);
					if (answer === undefined)
						return Promise.reject(new Error('stand-in has no reply for ' + key));
					for (var k in (opts.expect || {})) {
						var value = (k == '') ? answer : (answer != null ? answer[k] : null),
						    want = opts.expect[k], type = Object.prototype.toString;
						answer = (value == null || type.call(value) != type.call(want)) ? want : value;
						break;
					}
					return Promise.resolve(answer);
				};
			}
		};

		return {
			view: Base,
			form: {
				Map: Map,
				NamedSection: Section,
				TypedSection: Section,
				Flag: optionClass('Flag', { enabled: '1', disabled: '0', default: '0' }),
				ListValue: optionClass('ListValue', { widget: 'select' }),
				Value: optionClass('Value'),
				DynamicList: optionClass('DynamicList')
			},
			'tools.widgets': {
				ZoneSelect: optionClass('ZoneSelect'),
				DeviceSelect: optionClass('DeviceSelect')
			},
			rpc: rpc,
			poll: { add: function(fn, interval) { polls.push({ fn: fn, interval: interval }); } },
			dom: dom,
			/* What the test reads and sets: */
			rpcTable: rpcTable,
			declared: declared,
			polls: polls,
			maps: maps
		};
	}

	/*
	 * The require statements of a LuCI class file, found as luci.js finds them: walk the
	 * quoted strings from the top; each is a require, 'use strict', or the end of the search.
	 */
	function requires(source) {
		var found = [], start = -1, quote = -1, escaped = false;

		for (var i = 0; i < source.length; i++) {
			var chr = source.charAt(i);

			if (escaped) {
				escaped = false;
			}
			else if (chr == '\\') {
				escaped = true;
			}
			else if (chr == quote) {
				var text = source.substring(start, i),
				    r = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/.exec(text);
				if (r)
					found.push({ name: r[1], as: r[2] || r[1].replace(/[^a-zA-Z0-9_]/g, '_') });
				else if (!/^use[ \t]+strict$/.test(text))
					break;
				quote = -1;
			}
			else if (quote == -1 && (chr == '"' || chr == "'")) {
				start = i + 1;
				quote = chr;
			}
		}
		return found;
	}

	function loadView(source) {
		var mods = modules(), deps = requires(source),
		    L = { bind: function(fn, self) {
		            return Function.prototype.bind.apply(fn,
		                [ self ].concat(Array.prototype.slice.call(arguments, 2)));
		          },
		          isObject: function(v) { return v != null && typeof(v) == 'object'; } },
		    g = (typeof window !== 'undefined') ? window : globalThis;

		deps.forEach(function(d) {
			if (!(d.name in mods))
				throw new Error('stand-in has no module ' + d.name);
		});

		String.prototype.format = format;
		g._ = function(s) { return s; };
		g.E = E;
		g.L = L;

		var factory = new Function([ 'window', 'document', 'L' ]
			.concat(deps.map(function(d) { return d.as; })).join(', '), source);
		var View = factory.apply(null, [ g, documentOf(), L ]
			.concat(deps.map(function(d) { return mods[d.name]; })));

		return { View: View, modules: mods, requires: deps };
	}

	var api = { loadView: loadView, requires: requires, E: E, dom: dom };

	if (typeof module !== 'undefined' && module.exports)
		module.exports = api;
	else
		root.LuCIStandin = api;
})(this);
