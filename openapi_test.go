package epicevents_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"epicevents"
)

func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(epicevents.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	return doc
}

// The document is valid OpenAPI 3.1, examples included.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadDocument(t)
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.yaml is invalid: %v", err)
	}
}

// rawDocument is openapi.yaml as YAML nodes, before any OpenAPI tool reads
// it: what a tool sees depends on how the YAML itself parses.
func rawDocument(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(epicevents.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	return &doc
}

// dataKeys hold example or constraint values, whose content is data.
var dataKeys = map[string]bool{"example": true, "examples": true, "value": true, "default": true, "const": true, "enum": true}

// walkMappings calls visit with each mapping node of the document and its
// path, skipping example and constraint values.
func walkMappings(n *yaml.Node, path string, visit func(path string, m *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkMappings(c, path, visit)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkMappings(c, fmt.Sprintf("%s[%d]", path, i), visit)
		}
	case yaml.MappingNode:
		visit(path, n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if key := n.Content[i].Value; !dataKeys[key] {
				walkMappings(n.Content[i+1], path+"/"+key, visit)
			}
		}
	}
}

// A comma in a plain scalar of a flow mapping ends the scalar: `{$ref: …,
// description: Unique, case-insensitively.}` cuts the description and adds
// a key "case-insensitively." with no value. No key of the document (but in
// example values) is left without a value.
func TestOpenAPIDocumentHasNoCutFlowMapping(t *testing.T) {
	walkMappings(rawDocument(t), "", func(path string, m *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, value := m.Content[i], m.Content[i+1]
			if value.Tag == "!!null" {
				t.Errorf("line %d: %s/%s has no value (a flow mapping cut by a comma?)", key.Line, path, key.Value)
			}
		}
	})
	doc := loadDocument(t)
	for _, name := range []string{"CollaboratorCreate", "ClientCreate"} {
		email := doc.Components.Schemas[name].Value.Properties["email"]
		if !strings.HasSuffix(email.Value.Description, ", case-insensitively.") {
			t.Errorf("%s.email description: %q", name, email.Value.Description)
		}
	}
}

// Beside a $ref, tools read only a description or a summary; anything else
// (a `properties` narrowing a problem's status and type, say) is merged by
// some and dropped by others, so the document narrows with allOf.
func TestOpenAPIDocumentHasNothingElseBesideARef(t *testing.T) {
	walkMappings(rawDocument(t), "", func(path string, m *yaml.Node) {
		var hasRef bool
		var others []string
		for i := 0; i+1 < len(m.Content); i += 2 {
			switch key := m.Content[i].Value; key {
			case "$ref":
				hasRef = true
			case "description", "summary":
			default:
				others = append(others, key)
			}
		}
		if hasRef && len(others) > 0 {
			t.Errorf("line %d: %s has %v beside its $ref", m.Line, path, others)
		}
	})
}

// problemPins returns what a problem schema pins beyond Problem: the status
// and the types it may carry.
func problemPins(t *testing.T, where string, ref *openapi3.SchemaRef) (status any, types []string) {
	t.Helper()
	if ref == nil || ref.Value == nil {
		t.Errorf("%s: no problem schema", where)
		return nil, nil
	}
	var base bool
	for _, part := range ref.Value.AllOf {
		if part.Ref == "#/components/schemas/Problem" {
			base = true
			continue
		}
		if s := part.Value.Properties["status"]; s != nil {
			status = s.Value.Const
		}
		if ty := part.Value.Properties["type"]; ty != nil {
			if ty.Value.Const != nil {
				types = append(types, fmt.Sprint(ty.Value.Const))
			}
			for _, e := range ty.Value.Enum {
				types = append(types, fmt.Sprint(e))
			}
		}
	}
	if !base {
		t.Errorf("%s: the schema is not allOf Problem and its narrowing", where)
	}
	return status, types
}

// Every problem answer of every operation, and every problem response of
// the components, pins its status and the problem types it carries, each
// one of Problem's, so that generated clients keep them per status.
func TestOpenAPIProblemResponsesPinStatusAndType(t *testing.T) {
	doc := loadDocument(t)
	known := map[string]bool{}
	for _, e := range doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum {
		known[fmt.Sprint(e)] = true
	}
	check := func(where string, code int, res *openapi3.Response) {
		media := res.Content.Get("application/problem+json")
		if media == nil {
			t.Errorf("%s: no application/problem+json content", where)
			return
		}
		status, types := problemPins(t, where, media.Schema)
		if fmt.Sprint(status) != fmt.Sprint(code) {
			t.Errorf("%s: status pinned to %v", where, status)
		}
		if len(types) == 0 {
			t.Errorf("%s: no problem type pinned", where)
		}
		for _, ty := range types {
			if !known[ty] {
				t.Errorf("%s: type %s is not one of Problem's", where, ty)
			}
		}
	}
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, res := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				if err != nil || n < 400 {
					continue
				}
				check(method+" "+path+" "+code, n, res.Value)
				checked++
			}
		}
	}
	for name, res := range doc.Components.Responses {
		if media := res.Value.Content.Get("application/problem+json"); media != nil {
			status, _ := problemPins(t, name, media.Schema)
			n, _ := strconv.Atoi(fmt.Sprint(status))
			check("components/responses/"+name, n, res.Value)
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d problem answers", checked)
	}
}

// Answers carrying a single record declare its ETag, and creations their
// Location, as typed headers, so that generated clients expose them.
func TestOpenAPIRecordAnswersDeclareETagAndLocation(t *testing.T) {
	doc := loadDocument(t)
	records := map[string]bool{}
	for _, name := range []string{"Collaborator", "Client", "Contract", "Event", "Me"} {
		records["#/components/schemas/"+name] = true
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, code := range []string{"200", "201"} {
				res := op.Responses.Value(code)
				if res == nil || res.Value.Content.Get("application/json") == nil ||
					!records[res.Value.Content.Get("application/json").Schema.Ref] {
					continue
				}
				want := []string{"ETag"}
				if code == "201" {
					want = append(want, "Location")
				}
				for _, name := range want {
					h := res.Value.Headers[name]
					if h == nil || !h.Value.Required || !h.Value.Schema.Value.Type.Is("string") || h.Value.Schema.Value.Pattern == "" {
						t.Errorf("%s %s %s: no required, typed %s header", method, path, code, name)
					}
				}
			}
		}
	}
}

// The `me` and `none` forms of the list filters are named in the schema,
// beside the id form, so that generated clients offer them.
func TestOpenAPIListFiltersNameTheirKeywords(t *testing.T) {
	doc := loadDocument(t)
	forms := func(op *openapi3.Operation, name string) (keywords []string, id bool) {
		p := op.Parameters.GetByInAndName("query", name)
		if p == nil {
			t.Fatalf("%s has no %s parameter", op.OperationID, name)
		}
		for _, branch := range p.Schema.Value.AnyOf {
			for _, e := range branch.Value.Enum {
				keywords = append(keywords, fmt.Sprint(e))
			}
			id = id || branch.Value.Format == "uuid"
		}
		return keywords, id
	}
	for _, op := range []*openapi3.Operation{
		doc.Paths.Value("/v1/clients").Get, doc.Paths.Value("/v1/contracts").Get, doc.Paths.Value("/v1/events").Get,
	} {
		keywords, id := forms(op, "commercial")
		if diff := cmp.Diff([]string{"me"}, keywords); diff != "" || !id {
			t.Errorf("%s commercial: keywords (-want +got):\n%s; id form: %v", op.OperationID, diff, id)
		}
	}
	keywords, id := forms(doc.Paths.Value("/v1/events").Get, "support")
	if diff := cmp.Diff([]string{"me", "none"}, keywords); diff != "" || !id {
		t.Errorf("listEvents support: keywords (-want +got):\n%s; id form: %v", diff, id)
	}
}

// The document is served as YAML text: no schema claims a structure that
// tools would check a YAML body against (none parses it alike).
func TestOpenAPIDocumentAnswerHasNoObjectSchema(t *testing.T) {
	doc := loadDocument(t)
	media := doc.Paths.Value("/openapi.yaml").Get.Responses.Value("200").Value.Content.Get("application/yaml")
	if media == nil || media.Schema != nil {
		t.Fatalf("GET /openapi.yaml: %+v", media)
	}
}
