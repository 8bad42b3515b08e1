/**
 * Route input validators compiled when a route is first used, not all while the server starts.
 *
 * Fastify compiles every route's JSON Schemas (body, query string, parameters) with Ajv before it
 * listens: about half a second of each start here, a seventh of `mamori serve`'s time to listening,
 * paid again by every server the tests start. This factory wraps Fastify's own Ajv compiler
 * (`@fastify/ajv-compiler`, with the options given to Fastify) and defers each compilation to the
 * first request that needs the validator; the compiled validator is kept. Validation itself is
 * unchanged: the same Ajv, the same options, the same schemas, the same errors.
 *
 * A schema Ajv cannot compile would then be found at its route's first request, not at start-up;
 * `compileAll()` compiles every validator at once, and a test runs it over the whole application so
 * that such a schema fails the suite.
 */
import AjvCompiler from '@fastify/ajv-compiler';

declare module 'fastify' {
  interface FastifyInstance {
    /** Compiles every route validator not compiled yet (LazyValidation.compileAll). */
    compileAllValidators(): number;
  }
}

type BuildValidator = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<BuildValidator>;
type RouteDefinition = Parameters<Compile>[0];
type Validate = ReturnType<Compile>;

export type LazyValidation = {
  /** For Fastify's `schemaController.compilersFactory.buildValidator`. */
  buildValidator: BuildValidator;
  /** Compiles every validator not compiled yet (a schema Ajv rejects throws); returns how many there are. */
  compileAll(): number;
};

export function lazyValidation(): LazyValidation {
  const build = AjvCompiler();
  const validators: (() => Validate)[] = [];
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route: RouteDefinition) => {
      let compiled: Validate | undefined;
      const get = () => (compiled ??= compile(route));
      validators.push(get);
      // Fastify calls the validator and, when it returns false, reads its `errors`.
      const validate = ((data: unknown) => {
        const fn = get();
        const result = fn(data);
        validate.errors = fn.errors ?? null;
        return result;
      }) as Validate;
      return validate;
    };
  };
  return {
    buildValidator,
    compileAll() {
      for (const get of validators) get();
      return validators.length;
    },
  };
}
