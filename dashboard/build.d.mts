export interface DashboardManifest {
  readonly js: string
  readonly css: string
  readonly jsBytes: number
  readonly jsGzipBytes: number
  readonly cssGzipBytes: number
}
export declare function buildDashboard(options?: { outDir?: string; quiet?: boolean }): Promise<DashboardManifest>
