// Command alloy_schema derives the component schema stackkit's static checks use from a grafana/alloy
// source tree at a release tag: for every registered component, its stability level, the attributes and
// blocks its Arguments accept (from the `alloy:"name,attr|block|enum,optional"` struct tags, following
// `,squash` fields and named types across packages) and its Exports.
//
// It only reads Go source with go/parser: nothing of Alloy is built or imported.
//
//	git -C ALLOY_GIT archive v1.18.1 internal syntax go.mod | tar -x -C SRC
//	go run ./stackkit/dev/alloy_schema -src SRC -tag v1.18.1 -out stackkit/alloy/schemas/v1.18.1.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

const modulePath = "github.com/grafana/alloy"

var stabilityNames = map[string]string{
	"StabilityExperimental":       "experimental",
	"StabilityPublicPreview":      "public-preview",
	"StabilityGenerallyAvailable": "generally-available",
}

// Types from outside the Alloy tree, by import path and name, and how Alloy decodes them.
var externalTypes = map[string]string{
	"time.Duration": "duration",
	"github.com/prometheus/common/model.Duration":              "duration",
	"github.com/prometheus/common/config.Secret":               "secret",
	"github.com/alecthomas/units.Base2Bytes":                   "string",
	"github.com/prometheus/prometheus/model/labels.Labels":     "map(string)",
	"github.com/prometheus/common/model.LabelName":             "string",
	"github.com/prometheus/common/model.LabelValue":            "string",
	"github.com/prometheus/common/model.LabelSet":              "map(string)",
	"go.opentelemetry.io/collector/config/configopaque.String": "secret",
	"net/url.URL":   "string",
	"regexp.Regexp": "string",
	"math/big.Int":  "number",
}

// Types in the Alloy tree Alloy treats specially (syntax/alloytypes).
var knownTypes = map[string]string{
	modulePath + "/syntax/alloytypes.Secret":         "secret",
	modulePath + "/syntax/alloytypes.OptionalSecret": "optional_secret",
}

type typeDecl struct {
	spec    *ast.TypeSpec
	imports map[string]string // local name -> import path, for the file declaring it
	pkg     string            // import path
}

type pkgInfo struct {
	types   map[string]*typeDecl
	methods map[string]map[string]bool // receiver type -> method names
	strings map[string]string          // package-level string constants (component names)
}

type loader struct {
	src  string
	pkgs map[string]*pkgInfo
	fset *token.FileSet
}

func (l *loader) pkg(importPath string) *pkgInfo {
	if p, ok := l.pkgs[importPath]; ok {
		return p
	}
	p := &pkgInfo{types: map[string]*typeDecl{}, methods: map[string]map[string]bool{}, strings: map[string]string{}}
	l.pkgs[importPath] = p
	if !strings.HasPrefix(importPath, modulePath) {
		return p
	}
	dir := filepath.Join(l.src, strings.TrimPrefix(importPath, modulePath))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return p
	}
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(l.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			fmt.Fprintf(os.Stderr, "alloy_schema: skipping %s: %v\n", name, err)
			continue
		}
		imports := fileImports(file)
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if _, seen := p.types[s.Name.Name]; !seen {
							p.types[s.Name.Name] = &typeDecl{s, imports, importPath}
						}
					case *ast.ValueSpec:
						for i, ident := range s.Names {
							if i < len(s.Values) {
								if basic, ok := s.Values[i].(*ast.BasicLit); ok && basic.Kind == token.STRING {
									p.strings[ident.Name], _ = strconv.Unquote(basic.Value)
								}
							}
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) == 0 {
					continue
				}
				receiver := receiverName(d.Recv.List[0].Type)
				if p.methods[receiver] == nil {
					p.methods[receiver] = map[string]bool{}
				}
				p.methods[receiver][d.Name.Name] = true
			}
		}
	}
	return p
}

func fileImports(file *ast.File) map[string]string {
	imports := map[string]string{}
	for _, spec := range file.Imports {
		path, _ := strconv.Unquote(spec.Path.Value)
		name := filepath.Base(path)
		if spec.Name != nil {
			name = spec.Name.Name
		} else if strings.HasPrefix(name, "v") && strings.Count(path, "/") > 1 {
			if _, err := strconv.Atoi(name[1:]); err == nil { // .../v2 is the package one level up
				name = filepath.Base(filepath.Dir(path))
			}
		}
		imports[name] = path
	}
	return imports
}

func receiverName(expr ast.Expr) string {
	switch t := expr.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

// Attribute, Block and Body are what the JSON holds.
type Attribute struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

type Block struct {
	Kind       string `json:"kind"` // "block", or "enum" (one of several blocks named name.kind, repeatable)
	Required   bool   `json:"required"`
	Repeatable bool   `json:"repeatable"`
	Body       string `json:"body,omitempty"` // key into bodies; "" when the body is not a struct we can read
}

type Body struct {
	Attributes map[string]Attribute `json:"attributes"`
	Blocks     map[string]Block     `json:"blocks"`
	Label      bool                 `json:"label,omitempty"` // the block takes a label: name "label" { ... }
}

type Component struct {
	Stability string            `json:"stability"`
	Arguments string            `json:"arguments"`
	Exports   map[string]string `json:"exports"`
	Source    string            `json:"source"`
}

type Schema struct {
	AlloyVersion string               `json:"alloy_version"`
	Source       string               `json:"source"`
	Components   map[string]Component `json:"components"`
	Bodies       map[string]*Body     `json:"bodies"`
}

type deriver struct {
	l      *loader
	bodies map[string]*Body
}

// resolve finds the declaration a type expression names, in the context of the file it appears in.
func (d *deriver) resolve(expr ast.Expr, ctx *typeDecl) (string, *typeDecl) {
	switch t := expr.(type) {
	case *ast.Ident:
		if decl, ok := d.l.pkg(ctx.pkg).types[t.Name]; ok {
			return ctx.pkg + "." + t.Name, decl
		}
		return t.Name, nil
	case *ast.SelectorExpr:
		pkgName, ok := t.X.(*ast.Ident)
		if !ok {
			return "", nil
		}
		path := ctx.imports[pkgName.Name]
		if path == "" {
			return pkgName.Name + "." + t.Sel.Name, nil
		}
		return path + "." + t.Sel.Name, d.l.pkg(path).types[t.Sel.Name]
	case *ast.IndexExpr: // a generic instance: the generic type's declaration
		return d.resolve(t.X, ctx)
	}
	return "", nil
}

func (d *deriver) hasMethod(decl *typeDecl, names ...string) bool {
	methods := d.l.pkg(decl.pkg).methods[decl.spec.Name.Name]
	for _, name := range names {
		if methods[name] {
			return true
		}
	}
	return false
}

func (d *deriver) alloyType(expr ast.Expr, ctx *typeDecl, depth int) string {
	if depth > 20 {
		return "any"
	}
	switch t := expr.(type) {
	case *ast.StarExpr:
		return d.alloyType(t.X, ctx, depth+1)
	case *ast.ArrayType:
		if ident, ok := t.Elt.(*ast.Ident); ok && ident.Name == "byte" {
			return "string"
		}
		return "list(" + d.alloyType(t.Elt, ctx, depth+1) + ")"
	case *ast.MapType:
		return "map(" + d.alloyType(t.Value, ctx, depth+1) + ")"
	case *ast.InterfaceType:
		return "any"
	case *ast.FuncType, *ast.ChanType:
		return "capsule"
	case *ast.StructType:
		return "object"
	case *ast.Ident:
		switch t.Name {
		case "string":
			return "string"
		case "bool":
			return "bool"
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
			"float32", "float64", "byte", "rune", "uintptr":
			return "number"
		case "any", "error":
			return "any"
		}
	}
	key, decl := d.resolve(expr, ctx)
	if known, ok := knownTypes[key]; ok {
		return known
	}
	if known, ok := externalTypes[key]; ok {
		return known
	}
	if decl == nil {
		return "any" // outside the tree and not in the table: no type check
	}
	switch {
	case d.hasMethod(decl, "AlloyCapsule"):
		return "capsule(" + decl.spec.Name.Name + ")"
	case d.hasMethod(decl, "UnmarshalAlloy"):
		return "any" // decodes itself
	case d.hasMethod(decl, "UnmarshalText"):
		return "string"
	}
	if _, isInterface := decl.spec.Type.(*ast.InterfaceType); isInterface {
		return "capsule(" + decl.spec.Name.Name + ")"
	}
	return d.alloyType(decl.spec.Type, decl, depth+1)
}

type tag struct {
	name, kind string
	optional   bool
}

func parseTag(field *ast.Field) (tag, bool) {
	if field.Tag == nil {
		return tag{}, false
	}
	raw, _ := strconv.Unquote(field.Tag.Value)
	value, ok := reflect.StructTag(raw).Lookup("alloy")
	if !ok || value == "-" {
		return tag{}, false
	}
	parts := strings.Split(value, ",")
	t := tag{name: parts[0]}
	for _, part := range parts[1:] {
		switch part {
		case "optional":
			t.optional = true
		default:
			t.kind = part
		}
	}
	return t, true
}

// structOf follows named types to the struct they are, with the declaration whose file resolves its fields.
func (d *deriver) structOf(expr ast.Expr, ctx *typeDecl) (string, *ast.StructType, *typeDecl) {
	for depth := 0; depth < 20; depth++ {
		switch t := expr.(type) {
		case *ast.StarExpr:
			expr = t.X
			continue
		case *ast.StructType:
			return "", t, ctx
		}
		key, decl := d.resolve(expr, ctx)
		if decl == nil {
			return key, nil, nil
		}
		if st, ok := decl.spec.Type.(*ast.StructType); ok {
			return key, st, decl
		}
		expr, ctx = decl.spec.Type, decl
	}
	return "", nil, nil
}

func (d *deriver) body(expr ast.Expr, ctx *typeDecl) string {
	key, st, decl := d.structOf(expr, ctx)
	if st == nil {
		return ""
	}
	if key == "" {
		key = fmt.Sprintf("%s.<anonymous@%d>", ctx.pkg, st.Pos())
	}
	key = strings.TrimPrefix(key, modulePath+"/")
	if _, seen := d.bodies[key]; seen {
		return key
	}
	body := &Body{Attributes: map[string]Attribute{}, Blocks: map[string]Block{}}
	d.bodies[key] = body // before the fields: a body may contain itself
	d.fill(body, st, decl)
	return key
}

func (d *deriver) fill(body *Body, st *ast.StructType, decl *typeDecl) {
	for _, field := range st.Fields.List {
		t, ok := parseTag(field)
		if !ok {
			continue
		}
		switch t.kind {
		case "label":
			body.Label = true
		case "squash":
			_, inner, innerDecl := d.structOf(field.Type, decl)
			if inner != nil {
				d.fill(body, inner, innerDecl)
			}
		case "attr":
			body.Attributes[t.name] = Attribute{Type: d.alloyType(field.Type, decl, 0), Required: !t.optional}
		case "block":
			elem, elemDecl, repeatable := d.elementOf(field.Type, decl)
			body.Blocks[t.name] = Block{Kind: "block", Required: !t.optional, Repeatable: repeatable, Body: d.body(elem, elemDecl)}
		case "enum":
			elem, elemDecl, _ := d.elementOf(field.Type, decl)
			_, inner, innerDecl := d.structOf(elem, elemDecl)
			if inner == nil {
				continue
			}
			for _, choice := range inner.Fields.List {
				ct, ok := parseTag(choice)
				if !ok || ct.kind != "block" {
					continue
				}
				choiceElem, choiceDecl, _ := d.elementOf(choice.Type, innerDecl)
				body.Blocks[t.name+"."+ct.name] = Block{
					Kind: "enum", Required: false, Repeatable: true, Body: d.body(choiceElem, choiceDecl),
				}
			}
		}
	}
}

// elementOf is a block field's element type (in the context that resolves it) and whether the block may be
// repeated: a slice, directly or through named types.
func (d *deriver) elementOf(expr ast.Expr, ctx *typeDecl) (ast.Expr, *typeDecl, bool) {
	for depth := 0; depth < 20; depth++ {
		if star, ok := expr.(*ast.StarExpr); ok {
			expr = star.X
		}
		if array, ok := expr.(*ast.ArrayType); ok {
			return array.Elt, ctx, true
		}
		_, decl := d.resolve(expr, ctx)
		if decl == nil {
			return expr, ctx, false
		}
		switch decl.spec.Type.(type) {
		case *ast.ArrayType, *ast.StarExpr, *ast.Ident, *ast.SelectorExpr:
			expr, ctx = decl.spec.Type, decl
		default:
			return expr, ctx, false
		}
	}
	return expr, ctx, false
}

// registrations finds every component.Register(component.Registration{...}) under root.
func (d *deriver) registrations(root string, schema *Schema) error {
	return filepath.WalkDir(filepath.Join(d.l.src, root), func(path string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(d.l.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(d.l.src, filepath.Dir(path))
		ctx := &typeDecl{imports: fileImports(file), pkg: modulePath + "/" + filepath.ToSlash(rel)}
		ast.Inspect(file, func(node ast.Node) bool {
			lit, ok := node.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if sel, ok := lit.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Registration" {
				return true
			}
			d.register(lit, ctx, filepath.ToSlash(strings.TrimPrefix(path, d.l.src+"/")), schema)
			return false
		})
		return nil
	})
}

func (d *deriver) register(lit *ast.CompositeLit, ctx *typeDecl, path string, schema *Schema) {
	var name string
	component := Component{Exports: map[string]string{}, Source: path}
	for _, element := range lit.Elts {
		kv, ok := element.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		value := kv.Value
		if unary, ok := value.(*ast.UnaryExpr); ok {
			value = unary.X
		}
		switch key.Name {
		case "Name":
			switch v := value.(type) {
			case *ast.BasicLit:
				name, _ = strconv.Unquote(v.Value)
			case *ast.Ident:
				name = d.l.pkg(ctx.pkg).strings[v.Name]
			}
		case "Community":
			// Community components load only with --feature.community-components.enabled, whatever the level.
			if ident, ok := value.(*ast.Ident); ok && ident.Name == "true" {
				component.Stability = "community"
			}
		case "Stability":
			if sel, ok := value.(*ast.SelectorExpr); ok {
				component.Stability = stabilityNames[sel.Sel.Name]
			}
		case "Args":
			if composite, ok := value.(*ast.CompositeLit); ok {
				component.Arguments = d.body(composite.Type, ctx)
			}
		case "Exports":
			if composite, ok := value.(*ast.CompositeLit); ok {
				if exports := d.body(composite.Type, ctx); exports != "" {
					for attr, spec := range d.bodies[exports].Attributes {
						component.Exports[attr] = spec.Type
					}
				}
			}
		}
	}
	if name == "" || component.Stability == "" {
		fmt.Fprintf(os.Stderr, "alloy_schema: %s: a registration without a literal name or stability\n", path)
		return
	}
	if _, seen := schema.Components[name]; seen && strings.HasSuffix(path, "_stub.go") {
		return // the stub built where the real component cannot be: the real one's arguments count
	}
	schema.Components[name] = component
}

func main() {
	src := flag.String("src", "", "a grafana/alloy source tree (internal/ and syntax/ at least)")
	tagName := flag.String("tag", "", "the release tag the tree is at")
	out := flag.String("out", "", "the JSON file to write")
	flag.Parse()
	if *src == "" || *tagName == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: alloy_schema -src DIR -tag vX.Y.Z -out FILE")
		os.Exit(2)
	}
	absolute, err := filepath.Abs(*src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	d := &deriver{l: &loader{src: absolute, pkgs: map[string]*pkgInfo{}, fset: token.NewFileSet()}, bodies: map[string]*Body{}}
	schema := &Schema{
		AlloyVersion: *tagName,
		Source:       "grafana/alloy " + *tagName + ": internal/component (derived by tools/alloy_schema)",
		Components:   map[string]Component{},
	}
	if err := d.registrations("internal/component", schema); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Keep only the bodies some component reaches (Exports structs were read as bodies too).
	reached := map[string]*Body{}
	var visit func(key string)
	visit = func(key string) {
		if key == "" || reached[key] != nil {
			return
		}
		reached[key] = d.bodies[key]
		for _, block := range d.bodies[key].Blocks {
			visit(block.Body)
		}
	}
	names := make([]string, 0, len(schema.Components))
	for name, component := range schema.Components {
		visit(component.Arguments)
		names = append(names, name)
	}
	sort.Strings(names)
	schema.Bodies = reached
	data, err := json.MarshalIndent(schema, "", " ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("alloy_schema: %d components, %d bodies from %s at %s\n", len(names), len(reached), *src, *tagName)
}
