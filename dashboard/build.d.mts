export interface DashboardManifest {
  readonly js: string
  readonly css: string
  readonly jsBytes: number
  readonly jsGzipBytes: number
  readonly cssGzipBytes: number
  /** The sealed loader's inline script, minified, and gzipped. */
  readonly loaderBytes: number
  readonly loaderGzipBytes: number
}
/** The sealed loader's script and the files it was bundled from (paths relative to the repository). */
export declare function buildLoaderScript(): Promise<{ readonly script: string; readonly inputs: ReadonlyArray<string> }>
export declare function buildDashboard(options?: { outDir?: string; quiet?: boolean }): Promise<DashboardManifest>
