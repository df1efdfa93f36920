import RiverCodegen

/// Translates and renders one schema fragment as the declarations of a type `name`.
func renderSnippet(_ json: String, name: String = "Value", access: AccessModifier = .public) throws -> String {
    let node = try SchemaParser().parseSchema(JSONValue.parse(Array(json.utf8)), path: "fragment")
    let translator = Translator(configuration: GeneratorConfiguration(access: access), schemaFileName: "fragment.json")
    return SwiftRenderer().renderMembers(try translator.declarations(forType: node, named: name))
}

/// Runs the whole pipeline on a schema document held in a string.
func generate(_ json: String, fileName: String = "schema.json", access: AccessModifier = .public, namespace: String? = nil) throws -> [RenderedFile] {
    try GeneratorPipeline(configuration: GeneratorConfiguration(access: access, namespace: namespace))
        .run(InputFile(name: fileName, contents: Array(json.utf8)))
}
