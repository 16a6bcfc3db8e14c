/*
 * A stand-in for the parts of LuCI 24.10 that the VPN passthrough view uses, so that node can
 * evaluate the view without a browser. Where it covers something it does what LuCI does, line
 * for line where that matters (test_luci_browser.py runs the same probes, the Save cases and
 * the escaping case against LuCI's own files in Chromium):
 *
 *   - loadView() reads the leading 'require NAME [as ALIAS]' strings as luci.js's compileClass
 *     does and runs the source as function(window, document, L, <one argument per require>);
 *     view.extend() gives a class with luci.js's empty load() and render(), which the driver
 *     calls itself (LuCI's view life cycle is not covered).
 *   - E(), dom.append/content/attr are luci.js's dom.create/append/content/attr: a bare string
 *     child becomes innerHTML (markup!), strings inside an array become text nodes, and an
 *     element given where the attributes go is taken as attributes, not as a child. Under node
 *     they build on a small document whose innerHTML keeps the markup unparsed in a node of its
 *     own (isMarkup), so a test can find every string that went in as HTML.
 *   - String.prototype.format is cbi.js's for %s, %d, %m and %%; any other conversion throws,
 *     so a view that needs more of format() fails here instead of printing something else.
 *   - cbi_update_table() is ui.Table's update() on a table built from markup (no sorting).
 *   - rpc.declare() maps params and applies the expect rule as rpc.js does, and answers from
 *     rpcTable: a value (the reply), an Error (rejected, as rpc.js does with reject: true) or
 *     HANG (a call that never answers). Every call is recorded in rpcCalls.
 *   - poll is luci.js's Poll started (the page has loaded): add() runs the function at once,
 *     step() is one second passing; a function still running is not run again; `running`
 *     settles when the last step's runs have.
 *   - ui.addNotification() builds what ui.js builds; notifications lists them.
 *   - uci keeps a config as uci.js does (values, changes, deletes) and save() returns the
 *     `uci set` / `uci delete` calls uci.js would send.
 *   - form: Map, NamedSection, tabs, and the option classes the view declares with form.js's
 *     load, cfgvalue, formvalue, parse, write and remove; Flag and ListValue as form.js has
 *     them. A rendered option has a ui element: a checkbox for a Flag, radio inputs for a
 *     radio ListValue (disabled when readonly), a bare value otherwise; isChanged(); change()
 *     is the user's click, which a disabled input ignores. Its frame is form.js's div (id,
 *     data-field, the title and description as markup) with those inputs in it.
 *     tools.widgets' ZoneSelect and DeviceSelect keep a value they cannot list (as the
 *     dropdown does when creating is allowed); depends() and validation are not covered.
 *
 * Not covered (the view must not need them): tabs' rendering, sorting tables, the class
 * instances LuCI binds to nodes (data-idref), translations (_() returns its argument).
 *
 * Works under node (require()) and in a browser (window.LuCIStandin).
 */
(function(root) {
	'use strict';

	var HANG = { hang: true };

	function hidden(obj, props) {
		for (var key in props)
			Object.defineProperty(obj, key, { value: props[key], writable: true });
	}

	/* DOM nodes have no own enumerable properties: dom.attr() must find none on them either. */
	function FakeNode(tag, text, isMarkup) {
		hidden(this, {
			tagName: tag ? tag.toUpperCase() : null,
			nodeType: tag ? (tag == '#fragment' ? 11 : 1) : 3,
			text: text || '',
			isMarkup: !!isMarkup,
			attrs: {},
			childNodes: [],
			parentNode: null,
			listeners: {}
		});
	}

	function classes(node) {
		return (node.getAttribute('class') || '').split(/\s+/).filter(Boolean);
	}

	/* One simple selector: tag, .class, #id or [attr="value"]. */
	function matches(node, selector) {
		var m;
		if (node.nodeType != 1)
			return false;
		if ((m = /^\.([\w-]+)$/.exec(selector)))
			return classes(node).indexOf(m[1]) > -1;
		if ((m = /^#([\w.-]+)$/.exec(selector)))
			return node.getAttribute('id') == m[1];
		if ((m = /^\[([\w-]+)="([^"]*)"\]$/.exec(selector)))
			return node.getAttribute(m[1]) == m[2];
		if (/^\w+$/.test(selector))
			return node.tagName == selector.toUpperCase();
		throw new Error('stand-in querySelector() does not know ' + selector);
	}

	FakeNode.prototype = {
		appendChild: function(child) {
			var kids = (child.nodeType == 11) ? child.childNodes.splice(0) : [ child ];
			kids.forEach(function(c) {
				if (c.parentNode)
					c.parentNode.removeChild(c);
				c.parentNode = this;
				this.childNodes.push(c);
			}, this);
			return child;
		},
		removeChild: function(child) {
			this.childNodes.splice(this.childNodes.indexOf(child), 1);
			child.parentNode = null;
			return child;
		},
		replaceChild: function(child, old) {
			this.childNodes[this.childNodes.indexOf(old)] = child;
			old.parentNode = null;
			child.parentNode = this;
			return old;
		},
		get firstChild() { return this.childNodes[0] || null; },
		get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; },
		get children() { return this.childNodes.filter(function(c) { return c.nodeType == 1; }); },
		get firstElementChild() { return this.children[0] || null; },
		setAttribute: function(key, value) { this.attrs[key] = String(value); },
		getAttribute: function(key) { return key in this.attrs ? this.attrs[key] : null; },
		hasAttribute: function(key) { return key in this.attrs; },
		removeAttribute: function(key) { delete this.attrs[key]; },
		get disabled() { return this.hasAttribute('disabled'); },
		set disabled(on) { if (on) this.setAttribute('disabled', ''); else this.removeAttribute('disabled'); },
		addEventListener: function(name, fn) { this.listeners[name] = fn; },
		querySelectorAll: function(selector) {
			var found = [];
			(function walk(node) {
				node.childNodes.forEach(function(c) {
					if (matches(c, selector))
						found.push(c);
					walk(c);
				});
			})(this);
			return found;
		},
		querySelector: function(selector) { return this.querySelectorAll(selector)[0] || null; },
		set innerHTML(html) {
			while (this.firstChild)
				this.removeChild(this.firstChild);
			this.appendChild(new FakeNode(null, html, true));
		},
		get textContent() {
			if (this.nodeType == 3)
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

	/* luci.js's dom.elem, attr, append, content, create. */
	var dom = {
		elem: function(e) {
			return (e != null && typeof(e) == 'object' && 'nodeType' in e);
		},
		parse: function(s) {
			if (typeof DOMParser === 'undefined')
				throw new Error('stand-in has no HTML parser for E(' + JSON.stringify(s) + ')');
			return new DOMParser().parseFromString(s, 'text/html').body.firstChild;
		},
		attr: function(node, key, val) {
			var attr = null;
			if (!this.elem(node))
				return null;
			if (typeof(key) === 'object' && key !== null)
				attr = key;
			else if (typeof(key) === 'string')
				attr = {}, attr[key] = val;
			for (key in attr) {
				if (!attr.hasOwnProperty(key) || attr[key] == null)
					continue;
				switch (typeof(attr[key])) {
				case 'function':
					node.addEventListener(key, attr[key]);
					break;
				case 'object':
					node.setAttribute(key, JSON.stringify(attr[key]));
					break;
				default:
					node.setAttribute(key, attr[key]);
				}
			}
		},
		append: function(node, children) {
			if (!this.elem(node))
				return null;
			if (Array.isArray(children)) {
				/* As luci.js: it tests the array, not the item, so a null item becomes "null". */
				for (var i = 0; i < children.length; i++)
					if (this.elem(children[i]))
						node.appendChild(children[i]);
					else if (children !== null && children !== undefined)
						node.appendChild(documentOf().createTextNode('' + children[i]));
				return node.lastChild;
			}
			else if (typeof(children) === 'function') {
				return this.append(node, children(node));
			}
			else if (this.elem(children)) {
				return node.appendChild(children);
			}
			else if (children !== null && children !== undefined) {
				node.innerHTML = '' + children;
				return node.lastChild;
			}
			return null;
		},
		content: function(node, children) {
			if (!this.elem(node))
				return null;
			while (node.firstChild)
				node.removeChild(node.firstChild);
			return this.append(node, children);
		},
		create: function(html, attr, data) {
			var elem;
			if (!(attr instanceof Object) || Array.isArray(attr))
				data = attr, attr = null;
			if (Array.isArray(html)) {
				elem = documentOf().createDocumentFragment();
				for (var i = 0; i < html.length; i++)
					elem.appendChild(this.create(html[i]));
			}
			else if (this.elem(html)) {
				elem = html;
			}
			else if (html.charCodeAt(0) === 60) {
				elem = this.parse(html);
			}
			else {
				elem = documentOf().createElement(html);
			}
			if (!elem)
				return null;
			this.attr(elem, attr);
			this.append(elem, data);
			return elem;
		}
	};

	function E() {
		return dom.create.apply(dom, arguments);
	}

	/* cbi.js's String.prototype.format for the conversions the view uses. */
	function format() {
		var re = /^(([^%]*)%('.|0|\x20)?(-)?(\d+)?(\.\d+)?(%|b|c|d|u|f|o|s|x|X|q|h|j|t|m))/,
		    str = String(this), out = '', n = 0, a, subst;

		while ((a = re.exec(str))) {
			var minLength = a[5], precision = a[6], type = a[7], param;

			if (type == '%') {
				subst = '%';
			}
			else if (n < arguments.length) {
				param = arguments[n++];
				if (type == 's') {
					subst = param;
				}
				else if (type == 'd') {
					subst = Math.floor(+param || 0).toFixed(0);
				}
				else if (type == 'm') {
					var mf = minLength ? +minLength : 1000,
					    pr = precision ? ~~(10 * +('0' + precision)) : 2,
					    units = [ ' ', ' K', ' M', ' G', ' T', ' P', ' E' ],
					    val = (+param || 0), i;
					for (i = 0; (i < units.length) && (val > mf); i++)
						val /= mf;
					subst = i ? val.toFixed(pr) + units[i] + (mf == 1024 ? 'i' : '') : val + ' ';
					minLength = null;
				}
				else {
					throw new Error('stand-in format() does not know %' + type);
				}
			}
			if (minLength || a[3] || a[4])
				throw new Error('stand-in format() does not know padding in ' + a[1]);
			out += a[2] + subst;
			str = str.substr(a[1].length);
		}
		return out + str;
	}

	/* ui.Table's update() on a table from markup (first row: th headings); no sort state. */
	function cbi_update_table(table, data, placeholder) {
		placeholder = placeholder || 'No data';
		if (!Array.isArray(data))
			return;

		var rows = table.querySelectorAll('tr'),
		    headings = rows[0].querySelectorAll('th'),
		    n = 0, trows = [];

		data.forEach(function(row) {
			trows[n] = E('tr', { 'class': 'tr' });
			for (var i = 0; i < headings.length; i++) {
				var text = (headings[i].textContent || '').trim(),
				    rawVal = Array.isArray(row[i]) ? row[i][0] : null,
				    dispVal = Array.isArray(row[i]) ? row[i][1] : row[i],
				    td = trows[n].appendChild(E('td', {
				        'class': 'td',
				        'data-title': (text !== '') ? text : null,
				        'data-value': rawVal
				    }, (dispVal != null) ? dispVal : ''));
				if (classes(td).indexOf('cbi-section-actions') == -1)
					headings[i].setAttribute('data-sortable-row', true);
			}
			trows[n].setAttribute('class', 'tr cbi-rowstyle-' + ((n++ % 2) ? 2 : 1));
		});

		for (var i = 0; i < n; i++) {
			if (rows[i + 1])
				table.replaceChild(trows[i], rows[i + 1]);
			else
				table.appendChild(trows[i]);
		}
		while (rows[++n])
			table.removeChild(rows[n]);

		if (placeholder && table.firstElementChild === table.children[table.children.length - 1])
			table.appendChild(E('tr', { 'class': 'tr placeholder' })).appendChild(
				E('td', { 'class': 'td' }, placeholder));
	}

	function extend(base, props) {
		function Class() { if (this.__init__) this.__init__.apply(this, arguments); }
		Class.prototype = Object.create(base.prototype);
		for (var key in props)
			Class.prototype[key] = props[key];
		Class.extend = function(more) { return extend(Class, more); };
		return Class;
	}

	/* luci.js's view: load() and render() do nothing unless the view has its own. */
	function Base() {}
	Base.prototype = { load: function() {}, render: function() {} };
	Base.extend = function(props) { return extend(Base, props); };

	function isEqual(x, y) {
		return JSON.stringify(x) === JSON.stringify(y);
	}

	function modules() {
		var rpcTable = {}, rpcCalls = [], declared = [], maps = [], notifications = [];

		/* uci.js's state: values as loaded, changes and deletes staged by set()/unset(). */
		var uci = {
			values: {}, changes: {}, deletes: {},
			load: function(config) {
				if (!this.values[config])
					throw new Error('stand-in uci has no config ' + config);
				return Promise.resolve([ config ]);
			},
			get: function(conf, sid, opt) {
				var v = this.values[conf] && this.values[conf][sid],
				    c = this.changes[conf] && this.changes[conf][sid],
				    d = this.deletes[conf] && this.deletes[conf][sid];
				if (!v)
					return null;
				if (opt == null)
					return v;
				if (c && c.hasOwnProperty(opt))
					return c[opt];
				if (d && d[opt])
					return null;
				return v.hasOwnProperty(opt) ? v[opt] : null;
			},
			set: function(conf, sid, opt, val) {
				var v = this.values, c = this.changes, d = this.deletes;
				if (val != null && val !== '') {
					if (!v[conf] || !v[conf][sid])
						return;
					c[conf] = c[conf] || {};
					c[conf][sid] = c[conf][sid] || {};
					if (d[conf] && d[conf][sid])
						delete d[conf][sid][opt];
					c[conf][sid][opt] = val;
				}
				else {
					if (c[conf] && c[conf][sid])
						delete c[conf][sid][opt];
					if (v[conf] && v[conf][sid] && v[conf][sid].hasOwnProperty(opt)) {
						d[conf] = d[conf] || {};
						d[conf][sid] = d[conf][sid] || {};
						d[conf][sid][opt] = true;
					}
				}
			},
			unset: function(conf, sid, opt) { return this.set(conf, sid, opt, null); },
			/* The calls uci.js's save() makes: deletes first, then sets. */
			save: function() {
				var calls = [], conf, sid;
				for (conf in this.deletes)
					for (sid in this.deletes[conf])
						if (Object.keys(this.deletes[conf][sid]).length)
							calls.push([ 'delete', { config: conf, section: sid,
								options: Object.keys(this.deletes[conf][sid]) } ]);
				for (conf in this.changes)
					for (sid in this.changes[conf])
						if (Object.keys(this.changes[conf][sid]).length)
							calls.push([ 'set', { config: conf, section: sid,
								values: this.changes[conf][sid] } ]);
				return calls;
			}
		};

		/*
		 * A rendered option's ui element: a checkbox for a Flag and radio inputs for a radio
		 * ListValue, as ui.Checkbox and ui.Select render them (disabled when readonly); other
		 * widgets keep their value without inputs.
		 */
		function Widget(option, sid, value) {
			var o = option, disabled = o.readonly ? '' : null;
			this.option = option;
			this.sid = sid;
			this.changed = false;
			this.value = value;
			if (o instanceof Flag)
				this.inputs = [ E('input', { 'type': 'checkbox', 'disabled': disabled,
					'data-widget-id': 'widget.' + o.cbid(sid) }) ];
			else if (o.widget == 'radio')
				this.inputs = o.keylist.map(function(key) {
					return E('input', { 'type': 'radio', 'name': o.cbid(sid), 'value': key,
						'disabled': disabled });
				});
			else
				this.inputs = [];
			this.inputs.forEach(function(input) {
				input.checked = (o instanceof Flag) ? value : (input.getAttribute('value') === value);
			});
			this.node = E('div', { 'id': o.cbid(sid) }, this.inputs);
		}
		Widget.prototype = {
			getValue: function() {
				if (this.option instanceof Flag)
					return this.inputs[0].checked;
				if (this.inputs.length)
					return this.inputs.filter(function(i) { return i.checked; })
						.map(function(i) { return i.getAttribute('value'); })[0] || null;
				return this.value;
			},
			isChanged: function() { return this.changed; },
			isValid: function() { return true; },
			/* The user picking a value, on an input that is not disabled; then form.js's
			 * widget-change handling (onchange when the form value changed). */
			change: function(value) {
				var o = this.option, before = o.formvalue(this.sid), input;
				if (o instanceof Flag)
					input = this.inputs[0];
				else if (this.inputs.length)
					input = this.inputs.filter(function(i) {
						return i.getAttribute('value') === value; })[0];
				if (input && input.disabled)
					return false;
				if (o instanceof Flag)
					input.checked = (value == o.enabled);
				else if (input)
					this.inputs.forEach(function(i) { i.checked = (i === input); });
				else
					this.value = value;
				this.changed = true;
				if (typeof(o.onchange) == 'function' && !isEqual(o.formvalue(this.sid), before))
					o.onchange.call(o, {}, this.sid, o.formvalue(this.sid));
				return true;
			}
		};

		/* form.js's AbstractValue, Value, ListValue, Flag: what loading and saving do. */
		function AbstractValue(map, section, option, title, description) {
			this.map = map;
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.deps = [];
			this.rmempty = true;
			this.default = null;
			this.optional = false;
			this.retain = false;
		}
		AbstractValue.prototype = {
			depends: function() { throw new Error('stand-in does not evaluate depends()'); },
			value: function(key, val) {
				this.keylist = (this.keylist || []).concat(String(key));
				this.vallist = (this.vallist || []).concat(String(val != null ? val : key));
			},
			cbid: function(sid) { return 'cbid.%s.%s.%s'.format(this.map.config, sid, this.option); },
			load: function(sid) { return this.map.data.get(this.map.config, sid, this.option); },
			cfgvalue: function(sid, setValue) {
				if (arguments.length == 2) {
					this.data = this.data || {};
					this.data[sid] = setValue;
				}
				return this.data ? this.data[sid] : null;
			},
			getUIElement: function() { return this.uiElement || null; },
			formvalue: function(sid) {
				var elem = this.getUIElement(sid);
				return elem ? elem.getValue() : null;
			},
			isActive: function() { return this.uiElement != null; },
			isValid: function(sid) {
				var elem = this.getUIElement(sid);
				return elem ? elem.isValid() : true;
			},
			parse: function(sid) {
				var active = this.isActive(sid);
				if (active) {
					var cval = this.cfgvalue(sid), fval = this.formvalue(sid);
					if (fval == null || fval == '') {
						if (this.rmempty || this.optional)
							return Promise.resolve(this.remove(sid));
						return Promise.reject(new TypeError(
							'Option "%s" must not be empty.'.format(this.title || this.option)));
					}
					else if (this.forcewrite || !isEqual(cval, fval)) {
						return Promise.resolve(this.write(sid, fval));
					}
				}
				else if (!this.retain) {
					return Promise.resolve(this.remove(sid));
				}
				return Promise.resolve();
			},
			write: function(sid, value) {
				return this.map.data.set(this.map.config, sid, this.option, value);
			},
			remove: function(sid) {
				this.map.data.unset(this.map.config, sid, this.option);
			},
			/* The value the widget starts with, as its renderWidget() gives it. */
			widgetValue: function(cfgvalue) {
				return (cfgvalue != null) ? cfgvalue : this.default;
			}
		};

		function subclass(base, props) {
			function Kind() {
				base.apply(this, arguments);
				if (props.__init__)
					props.__init__.call(this);
			}
			Kind.prototype = Object.create(base.prototype);
			for (var key in props)
				if (key != '__init__')
					Kind.prototype[key] = props[key];
			return Kind;
		}

		var Value = subclass(AbstractValue, { __name__: 'CBI.Value' });
		var ListValue = subclass(Value, {
			__name__: 'CBI.ListValue',
			__init__: function() {
				this.widget = 'select';
				this.orientation = 'horizontal';
			},
			/* A radio group with no input for the value has none checked: getValue() null. */
			widgetValue: function(cfgvalue) {
				var value = (cfgvalue != null) ? cfgvalue : this.default;
				return (this.widget == 'radio' && (this.keylist || []).indexOf(value) == -1)
					? null : value;
			}
		});
		var Flag = subclass(Value, {
			__name__: 'CBI.FlagValue',
			__init__: function() {
				this.enabled = '1';
				this.disabled = '0';
				this.default = this.disabled;
			},
			widgetValue: function(cfgvalue) {
				return ((cfgvalue != null) ? cfgvalue : this.default) == this.enabled;
			},
			formvalue: function(sid) {
				var elem = this.getUIElement(sid);
				return (elem ? elem.getValue() : false) ? this.enabled : this.disabled;
			},
			parse: function(sid) {
				if (this.isActive(sid)) {
					var fval = this.formvalue(sid);
					if (fval == this.default && (this.optional || this.rmempty))
						return Promise.resolve(this.remove(sid));
					return Promise.resolve(this.write(sid, fval));
				}
				else if (!this.retain) {
					return Promise.resolve(this.remove(sid));
				}
			}
		});
		/* A dropdown that creates entries keeps whatever value it is given. */
		var Dropdown = subclass(ListValue, {
			widgetValue: function(cfgvalue) {
				if (this.nocreate)
					throw new Error('stand-in dropdowns only create entries');
				return (cfgvalue != null) ? cfgvalue : this.default;
			}
		});
		var ZoneSelect = subclass(Dropdown, { __name__: 'CBI.ZoneSelect' });
		var DeviceSelect = subclass(Dropdown, { __name__: 'CBI.DeviceSelect' });

		function NamedSection(map, name, type, title) {
			this.map = map;
			this.name = name;
			this.sectiontype = type;
			this.title = title;
			this.tabs = [];
			this.children = [];
		}
		NamedSection.prototype = {
			tab: function(name, title) { this.tabs.push({ name: name, title: title }); },
			option: function(cls, option, title, description) {
				var o = new cls(this.map, this, option, title, description);
				this.children.push(o);
				return o;
			},
			taboption: function(tab) {
				if (!this.tabs.some(function(t) { return t.name == tab; }))
					throw new Error('tab ' + tab + ' not declared');
				var o = this.option.apply(this, Array.prototype.slice.call(arguments, 1));
				o.tab = tab;
				return o;
			},
			load: function() {
				return Promise.all(this.children.map(function(o) { return o.load(this.name); }, this))
					.then(function(values) {
						values.forEach(function(v, i) { this.children[i].cfgvalue(this.name, v); }, this);
					}.bind(this));
			},
			parse: function() {
				return Promise.all(this.children.map(function(o) { return o.parse(this.name); }, this));
			},
			/* form.js's frame of each option: id, data-field, title, description (as markup). */
			render: function() {
				var sid = this.name;
				return E('div', { 'class': 'cbi-section' }, this.children.map(function(o) {
					o.uiElement = new Widget(o, sid, o.widgetValue(o.cfgvalue(sid)));
					return E('div', { 'class': 'cbi-value', 'id': 'cbi-%s-%s-%s'.format(
						this.map.config, sid, o.option), 'data-field': o.cbid(sid) }, [
						E('label', { 'class': 'cbi-value-title' }, o.title),
						E('div', { 'class': 'cbi-value-field' }, [ o.uiElement.node ].concat(
							(typeof(o.description) == 'string')
								? [ E('div', { 'class': 'cbi-value-description' }, o.description) ]
								: []))
					]);
				}, this));
			}
		};

		function Map(config, title, description) {
			this.config = config;
			this.title = title;
			this.description = description;
			this.children = [];
			this.data = uci;
			maps.push(this);
		}
		Map.prototype = {
			section: function(cls, name, type, title) {
				var s = new cls(this, name, type, title);
				this.children.push(s);
				return s;
			},
			findElement: function(attr, value) {
				return this.root.querySelector('[%s="%s"]'.format(attr, value));
			},
			load: function() {
				return uci.load(this.config).then(function() {
					return Promise.all(this.children.map(function(s) { return s.load(); }));
				}.bind(this));
			},
			render: function() {
				return this.load().then(function() {
					return Promise.all(this.children.map(function(s) { return s.render(); }));
				}.bind(this)).then(function(nodes) {
					this.root = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, [
						E('h2', {}, this.title), E('div', { 'class': 'cbi-map-descr' }, this.description)
					].concat(nodes));
					return this.root;
				}.bind(this));
			},
			/* Map.save() up to uci.save(): the uci calls it would send. */
			save: function() {
				return Promise.all(this.children.map(function(s) { return s.parse(); }))
					.then(function() { return uci.save(); });
			}
		};

		var rpc = {
			declare: function(opts) {
				declared.push(opts);
				return function() {
					var key = opts.object + '.' + opts.method, args = {},
					    answer = rpcTable[key], type = Object.prototype.toString;
					for (var i = 0; i < (opts.params || []).length && i < arguments.length; i++)
						args[opts.params[i]] = arguments[i];
					rpcCalls.push({ object: opts.object, method: opts.method, args: args });
					if (answer === HANG)
						return new Promise(function() {});
					if (answer instanceof Error)
						return Promise.reject(answer);
					if (answer === undefined)
						return Promise.reject(new Error('stand-in has no reply for ' + key));
					for (var k in (opts.expect || {})) {
						if (answer != null && k != '')
							answer = answer[k];
						if (answer == null || type.call(answer) != type.call(opts.expect[k]))
							answer = opts.expect[k];
						break;
					}
					return Promise.resolve(answer);
				};
			}
		};

		/* luci.js's Poll once the page has loaded (tick set): add() starts it at once. */
		var poll = {
			queue: [], tick: 0, active: false,
			add: function(fn, interval) {
				if (this.queue.some(function(e) { return e.fn === fn; }))
					return false;
				this.queue.push({ r: true, i: interval >>> 0, fn: fn });
				if (!this.active) {
					this.active = true;
					this.step();
				}
				return true;
			},
			/* One second passing; `running` settles when the runs it started have. */
			step: function() {
				var runs = [];
				this.queue.forEach(function(e) {
					if ((this.tick % e.i) != 0 || !e.r)
						return;
					e.r = false;
					runs.push(Promise.resolve(e.fn()).finally(function() { e.r = true; }));
				}, this);
				this.tick++;
				this.running = Promise.all(runs);
			}
		};

		var maincontent = E('div', { 'id': 'maincontent' });

		var ui = {
			addNotification: function(title, children, timeout) {
				var msg = E('div', { 'class': 'alert-message fade-in', 'style': 'display:flex' }, [
					E('div', { 'style': 'flex:10' }),
					E('div', { 'style': 'flex:1 1 auto; display:flex' }, [
						E('button', { 'class': 'btn', 'style': 'margin-left:auto; margin-top:auto' },
						  [ 'Dismiss' ])
					])
				]);
				if (title != null)
					dom.append(msg.firstElementChild, E('h4', {}, title));
				dom.append(msg.firstElementChild, children);
				Array.prototype.slice.call(arguments, 3).forEach(function(c) {
					msg.setAttribute('class', msg.getAttribute('class') + ' ' + c);
				});
				maincontent.childNodes.unshift(msg);
				msg.parentNode = maincontent;
				notifications.push(msg);
				return msg;
			}
		};

		return {
			view: Base,
			form: {
				Map: Map,
				NamedSection: NamedSection,
				AbstractValue: AbstractValue,
				Value: Value,
				ListValue: ListValue,
				Flag: Flag
			},
			'tools.widgets': { ZoneSelect: ZoneSelect, DeviceSelect: DeviceSelect },
			rpc: rpc,
			poll: poll,
			ui: ui,
			uci: uci,
			dom: dom,
			/* What the test reads and sets: */
			rpcTable: rpcTable,
			rpcCalls: rpcCalls,
			declared: declared,
			maps: maps,
			maincontent: maincontent,
			notifications: notifications
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
		    L = {
		        bind: function(fn, self) {
		            return Function.prototype.bind.apply(fn,
		                [ self ].concat(Array.prototype.slice.call(arguments, 2)));
		        },
		        isObject: function(v) { return v != null && typeof(v) == 'object'; }
		    },
		    g = (typeof window !== 'undefined') ? window : globalThis;

		deps.forEach(function(d) {
			if (!(d.name in mods))
				throw new Error('stand-in has no module ' + d.name);
		});

		String.prototype.format = format;
		g._ = function(s) { return s; };
		g.E = E;
		g.cbi_update_table = cbi_update_table;

		var factory = new Function([ 'window', 'document', 'L' ]
			.concat(deps.map(function(d) { return d.as; })).join(', '), source);
		var View = factory.apply(null, [ g, documentOf(), L ]
			.concat(deps.map(function(d) { return mods[d.name]; })));

		return { View: View, modules: mods, requires: deps };
	}

	var api = { loadView: loadView, requires: requires, E: E, dom: dom, format: format,
	            cbi_update_table: cbi_update_table, HANG: HANG };

	if (typeof module !== 'undefined' && module.exports)
		module.exports = api;
	else
		root.LuCIStandin = api;
})(this);
